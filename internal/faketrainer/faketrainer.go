// Package faketrainer is for tests only: a stand-in for the Python that
// runs the trainer of training/ (python3 -m polycl train-dataset), a small
// shell script that prints the trainer's documented JSON progress lines,
// exits with its statuses and handles its signals, so that the Go side
// (package trainjob, polyseg train, the app) is tested without PyTorch and
// in milliseconds. The real trainer is tested on its own (training/tests)
// and end to end where PyTorch is installed.
package faketrainer

import (
	_ "embed"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

//go:embed python.sh
var script string

// Modes of the fake.
const (
	OK       = "ok"       // trains: progress lines, a model folder, exit 0
	Dataset  = "dataset"  // refuses the dataset: an error event, exit 2
	ArgParse = "argparse" // refuses its arguments as argparse does: usage on stderr, exit 2, no event
	Fail     = "fail"     // fails: an error event of kind failed, exit 1
	Crash    = "crash"    // a traceback on stderr, exit 1, no event
	NoEvent  = "noevent"  // exit 0 without a done event
	Killed   = "killed"   // kills itself with SIGKILL, its work folder left behind
	Hang     = "hang"     // trains until a signal: SIGINT exits 130, SIGTERM 143, its work folder removed; a worker process ignores SIGINT
	Stubborn = "stubborn" // trains and ignores SIGINT and SIGTERM: only SIGKILL stops it
)

// DefaultProbe is the probe's answer: PyTorch found, no GPU.
const DefaultProbe = `{"python": "3.11.2", "missing": {}, "torch": "1.13.0-fake", "gpus": 0}`

// Fake is an installed fake interpreter.
type Fake struct {
	// Python is the fake interpreter's path; Trainer a training folder
	// that holds a polycl package, as trainjob looks for.
	Python, Trainer string
	// Record is where the fake writes its arguments, one per line.
	Record string
}

// Install writes a fake interpreter that runs in mode, answering the probe
// with probe (DefaultProbe when empty).
func Install(t testing.TB, mode, probe string) Fake {
	t.Helper()
	if probe == "" {
		probe = DefaultProbe
	}
	dir := t.TempDir()
	f := Fake{Python: filepath.Join(dir, "python3"), Trainer: filepath.Join(dir, "training"), Record: filepath.Join(dir, "args")}
	head := "MODE=" + strconv.Quote(mode) + "\nPROBE='" + strings.ReplaceAll(probe, "'", `'\''`) + "'\nRECORD=" + strconv.Quote(f.Record) + "\n"
	body := strings.Replace(script, "set -u\n", head+"set -u\n", 1)
	if err := os.WriteFile(f.Python, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.Trainer, "polycl"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"__init__.py", "__main__.py", "loop.py"} {
		if err := os.WriteFile(filepath.Join(f.Trainer, "polycl", n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// Args returns the arguments the fake was last run with; nil when it was
// not run (or only probed).
func (f Fake) Args() []string {
	b, err := os.ReadFile(f.Record)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// DoneFile returns the content of the done-case file the fake was given.
func (f Fake) DoneFile() string {
	b, _ := os.ReadFile(f.Record + ".done")
	return string(b)
}

// Worker returns the pid of the fake's worker process (modes Hang and
// Stubborn), 0 when it started none.
func (f Fake) Worker() int {
	b, err := os.ReadFile(f.Record + ".worker")
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
