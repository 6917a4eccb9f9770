// Command ltvctl runs lifetime value computations locally and shows the results of computations
// in a cluster.
//
//	ltvctl compute -f computation.yaml [-f segments.yaml] [--data transactions.csv[.gz]] [-o json|table]
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

  ltvctl compute -f FILE... [--data FILE] [--end YYYY-MM-DD] [-o json|table]
      Runs an LTVComputation locally, with the same pipeline as the operator. FILE may hold
      several YAML documents (a directory: every *.yaml in it): the LTVComputation, the
      CustomerSegments it selects and, for a configMap source, the ConfigMap. --data replaces
      the source with a local CSV (gzip recognised).

  ltvctl show NAME [-n NAMESPACE] [--kubeconfig FILE] [-o json|table]
      Prints a computation's status and results from a cluster.

  ltvctl version
      Prints the version and the commit ltvctl was built from.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "compute":
		err = compute(os.Args[2:], os.Stdout)
	case "show":
		err = show(os.Args[2:], os.Stdout)
	case "version", "--version":
		err = printVersion(os.Args[2:], os.Stdout)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "ltvctl: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return // a subcommand's -h: its flag set printed the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ltvctl:", err)
		os.Exit(1)
	}
}

// printVersion is `ltvctl version`: "ltvctl v0.1.0 (revision 0123abcd…)".
func printVersion(args []string, stdout io.Writer) error {
	if len(args) != 0 {
		return fmt.Errorf("version: takes no arguments")
	}
	_, err := fmt.Fprintln(stdout, "ltvctl", version.String())
	return err
}
