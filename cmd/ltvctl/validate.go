package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// validate is `ltvctl validate -f FILE...`: every LTVComputation and CustomerSegment in the files
// is checked as the API server checks it on `kubectl apply` (the embedded CRD schema, defaults and
// CEL rules, every unknown field), so that green here means accepted there.
func validate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	var files fileList
	fs.Var(&files, "f", "YAML file or directory (repeatable)")
	quiet := fs.Bool("q", false, "print only the refused objects")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: ltvctl validate -f FILE... [-q]\n\n"+
			"Checks every LTVComputation and CustomerSegment as the API server does on kubectl apply:\n"+
			"the CRD schema built into ltvctl, its defaults and CEL rules, and every unknown field.\n"+
			"Exits 1 when an object would be refused.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	files = append(files, fs.Args()...)
	if len(files) == 0 {
		return errors.New("validate: -f is required")
	}
	objs, err := readObjects(context.Background(), files)
	if err != nil {
		return err
	}
	if len(objs.checked) == 0 {
		return fmt.Errorf("validate: no LTVComputation or CustomerSegment in %s", strings.Join(files, ", "))
	}
	refused := objs.refused()
	if !*quiet {
		for _, c := range objs.checked {
			if c.res.Valid() {
				fmt.Fprintf(stdout, "%s: %s %s is valid\n", c.doc.where(""), c.doc.kind(), c.doc.name())
			}
		}
	}
	writeRefusals(stdout, refused)
	if len(refused) > 0 {
		return fmt.Errorf("%d of %d objects would be refused by the API server", len(refused), len(objs.checked))
	}
	return nil
}
