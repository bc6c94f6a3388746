package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalStopsCleanly runs the program in a child process, signals it
// while it writes files, and checks that it stops with the exit status a
// shell gives a program the signal killed (130 for Ctrl+C, 143 for
// SIGTERM), says it was interrupted, and leaves no temporary file.
func TestSignalStopsCleanly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT or SIGTERM to send on Windows")
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		sig := tc.sig
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMainChild$", "--", "phantom", dir, "--count", "100")
			cmd.Env = append(os.Environ(), "POLYSEG_MAIN_CHILD=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal once the first case is written: the work is under way.
			for {
				if m, _ := filepath.Glob(filepath.Join(dir, "imagesTr", "*.nii.gz")); len(m) > 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != tc.want || !strings.Contains(stderr.String(), "polyseg phantom: interrupted") {
				t.Errorf("exit %d (%v), stderr %q; want %d and a line saying it was interrupted", code, err, stderr.String(), tc.want)
			}
			filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && strings.Contains(d.Name(), ".tmp-") {
					t.Errorf("temporary file left: %s", path)
				}
				return nil
			})
		})
	}
}

// TestSecondSignalKills signals a child stuck in work that does not look
// at its context: the first signal cannot stop it, the second must.
func TestSecondSignalKills(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM to send on Windows")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainChild$", "--", "hang")
	cmd.Env = append(os.Environ(), "POLYSEG_MAIN_CHILD=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil { // "ready"
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Signal until it ends; a bounded number of tries keeps a regression
	// from hanging the test run.
	for range 200 {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() {
				t.Errorf("child ended with %v, want killed by the signal", cmd.ProcessState)
			}
			return
		case <-time.After(25 * time.Millisecond):
		}
	}
	cmd.Process.Kill()
	<-done
	t.Fatal("repeated SIGTERM did not end a child stuck in work")
}

// TestMainChild runs main with the arguments after "--" when started by
// TestSignalStopsCleanly.
func TestMainChild(t *testing.T) {
	if os.Getenv("POLYSEG_MAIN_CHILD") == "" {
		t.Skip("only run as the child of TestSignalStopsCleanly")
	}
	// hang stands for work that does not look at its context.
	register(command{name: "hang", run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fmt.Fprintln(stdout, "ready")
		time.Sleep(time.Hour)
		return nil
	}})
	os.Args = append([]string{"polyseg"}, flag.Args()...)
	main()
}
