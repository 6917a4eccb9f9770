// Command ltv-synth writes a synthetic shop's transaction log (CSV, gzip-compressed when the
// output name ends in .gz) for benchmarks and demos:
//
//	ltv-synth -customers 1000000 -seed 1 -out transactions.csv.gz
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/synth"
)

func main() {
	customers := flag.Int("customers", 10000, "number of customers")
	seed := flag.Int64("seed", 1, "random seed (the output is a function of the flags)")
	out := flag.String("out", "-", "output file (.gz: gzip-compressed; -: standard output)")
	days := flag.Int("days", synth.DefaultDays, "length of the window in days (customers are acquired in its first half)")
	start := flag.String("start", synth.DefaultStart.Format(time.DateOnly), "first day of the window (YYYY-MM-DD)")
	channels := flag.String("channels", "", "comma-separated acquisition channels (default: paid_search,email,organic,social,referral with different mixes)")
	flag.Parse()

	st, err := time.Parse(time.DateOnly, *start)
	if err != nil {
		fail(fmt.Errorf("-start: %w", err))
	}
	cfg := synth.Config{Customers: *customers, Seed: *seed, Days: *days, Start: st}
	if *channels != "" {
		cfg.Channels = strings.Split(*channels, ",")
	}
	var rows int
	switch {
	case *out == "-" || *out == "":
		rows, err = synth.Write(os.Stdout, cfg)
	case strings.HasSuffix(*out, ".gz"):
		rows, err = synth.WriteGzipFile(*out, cfg)
	default:
		var f *os.File
		if f, err = os.Create(*out); err == nil {
			rows, err = synth.Write(f, cfg)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "ltv-synth: %d customers, %d rows\n", *customers, rows)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ltv-synth:", err)
	os.Exit(1)
}
