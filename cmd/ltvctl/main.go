// Command ltvctl runs lifetime value computations locally and shows the results of computations
// in a cluster.
//
//	ltvctl validate -f FILE...
//	ltvctl compute -f computation.yaml [-f segments.yaml] [--data transactions.csv[.gz]|.parquet] [--out DIR] [-o json|table]
//	ltvctl report -f computation.yaml [--data FILE] [--html report.html] | --summary summary.json
//	ltvctl show NAME [-n NAMESPACE] [--kubeconfig FILE] [-o json|table]
//	ltvctl version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	_ "time/tzdata" // IANA zones for spec.timeZone in images without /usr/share/zoneinfo

	_ "golang.org/x/crypto/x509roots/fallback" // CA roots for TLS in images without /etc/ssl

	"github.com/ltv-operator/ltv-operator/internal/version"
)

const usage = `ltvctl: customer lifetime value from the command line

  ltvctl validate -f FILE... [-q]
      Checks every LTVComputation and CustomerSegment in the files as the API server does on
      kubectl apply: the CRD schema built into ltvctl, its defaults, its CEL rules and every
      unknown field, with the API server's field paths and messages and the file's line numbers.
      Exits 1 when an object would be refused: green here means accepted by kubectl apply.

  ltvctl compute -f FILE... [--data FILE] [--end YYYY-MM-DD] [--out DIR] [-o json|table]
      Validates (as above), then runs an LTVComputation locally, with the same pipeline as the
      operator. FILE may hold several YAML documents (a directory: every *.yaml in it): the
      LTVComputation, the CustomerSegments it selects and, for a configMap source, the ConfigMap.
      --data replaces the source with a local CSV (gzip recognised) or Parquet file. --out DIR
      writes the results ConfigMap's files (summary.json, the CSVs, report.html) and
      customers.csv, every customer's scores.

  ltvctl report (-f FILE... [--data FILE] [--end YYYY-MM-DD] | --summary summary.json) [--html FILE]
      Writes the results as one self-contained HTML page with charts (report.html by default):
      computed from the files as compute does, or from a summary.json the operator published.

  ltvctl show NAME [-n NAMESPACE] [--kubeconfig FILE] [-o json|table]
      Prints a computation's status and results from a cluster.

  ltvctl version
      Prints the version and the commit ltvctl was built from.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is ltvctl with its arguments; it returns the exit code: 0, 1 for a failure, 2 for a usage
// error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "validate":
		err = validate(args[1:], stdout)
	case "compute":
		err = compute(args[1:], stdout)
	case "report":
		err = reportCommand(args[1:], stdout)
	case "show":
		err = show(args[1:], stdout)
	case "version", "--version":
		err = printVersion(args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ltvctl: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0 // a subcommand's -h: its flag set printed the usage
	}
	if err != nil {
		fmt.Fprintln(stderr, "ltvctl:", err)
		return 1
	}
	return 0
}

// printVersion is `ltvctl version`: "ltvctl v0.1.0 (revision 0123abcd…)".
func printVersion(args []string, stdout io.Writer) error {
	if len(args) != 0 {
		return fmt.Errorf("version: takes no arguments")
	}
	_, err := fmt.Fprintln(stdout, "ltvctl", version.String())
	return err
}
