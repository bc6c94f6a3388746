// Command polyseg opens CT scans, segments organs with a PolyCL U-Net,
// refines masks with Segment Anything, and writes label volumes. With no
// arguments, or with "view", it opens the desktop app; the other commands run
// the same operations headless.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	_ "github.com/polyseg/polyseg/internal/locale" // before Fyne reads the locale
)

// command is one subcommand. run parses its own flags from args and writes
// its normal output to stdout; it returns an error instead of exiting.
type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is filled by the cmd_*.go files of this package, one command
// each, so that adding a command touches one file.
var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// errUsage marks an error caused by the command line itself.
var errUsage = errors.New("usage")

func main() {
	// SIGTERM (kill, a closing terminal session's manager) stops the work
	// as Ctrl+C does, so that no temporary file is left behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A second signal ends the program at once, as without this handler:
	// some work (a model's session being created, a file being written)
	// does not look at ctx, and the user must not be stuck behind it.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run maps a command line to an exit code: 0 on success, 2 for a usage
// error, 1 for anything else, with a one-line message on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"view"}
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		printHelp(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "polyseg: unknown command %q (try polyseg help)\n", name)
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "polyseg %s: %v\nusage: polyseg %s %s\n", name, err, name, c.usage)
		return 2
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// An interrupt, not a fault: say so rather than "context canceled".
		fmt.Fprintf(stderr, "polyseg %s: interrupted (%s)\n", name, oneLine(err.Error()))
		return 1
	default:
		fmt.Fprintf(stderr, "polyseg %s: %s\n", name, oneLine(err.Error()))
		return 1
	}
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: polyseg COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// usageErr wraps a message as a usage error. A request for help (-h) stays
// one, so that it exits 0 after the flag package printed the usage.
func usageErr(format string, a ...any) error {
	for _, x := range a {
		if err, ok := x.(error); ok && errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
	}
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}
