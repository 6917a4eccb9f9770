package main

import (
	"flag"
	"io"
)

func reportCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	return fs.Parse(args)
}
