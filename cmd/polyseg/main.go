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
	// as Ctrl+C does, so that no temporary file is left behind. The signal
	// is the context's cause, so that the exit status can say which.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		// A second signal ends the program at once, as without this
		// handler: some work (a model's session being created, a file
		// being written) does not look at ctx, and the user must not be
		// stuck behind it.
		signal.Stop(sigs)
		cancel(interrupt{s})
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	cancel(nil)
	os.Exit(code)
}

// interrupt is the cause of main's context when a signal stopped the work.
type interrupt struct{ sig os.Signal }

func (i interrupt) Error() string { return i.sig.String() + " signal received" }

// exitInterrupted is the exit status of a command stopped by Ctrl+C, as
// shells report a program killed by SIGINT: 128 + 2.
const exitInterrupted = 130

// interruptedStatus returns the exit status of work stopped because ctx
// was cancelled: 128 + the signal's number, as a shell reports a program
// the signal killed (130 for Ctrl+C, 143 for SIGTERM), so that scripts
// tell an interrupt from a failure; 130 when no signal is known.
func interruptedStatus(ctx context.Context) int {
	var i interrupt
	if errors.As(context.Cause(ctx), &i) {
		if s, ok := i.sig.(syscall.Signal); ok && s > 0 && s < 128 {
			return 128 + int(s)
		}
	}
	return exitInterrupted
}

// run maps a command line to an exit code: 0 on success, 2 for a usage
// error, 128 + the signal's number when interrupted (130 for Ctrl+C), 1
// for anything else, with a one-line message on stderr.
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
	case ctx.Err() != nil:
		// An interrupt, not a fault: say so rather than "context canceled",
		// whatever error the work stopped with once it was cancelled.
		fmt.Fprintf(stderr, "polyseg %s: interrupted (%s)\n", name, oneLine(err.Error()))
		return interruptedStatus(ctx)
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
