package main

import (
	"bytes"
	"flag"
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
// while it writes files, and checks that it stops with the exit status of
// a failure, says it was interrupted, and leaves no temporary file.
func TestSignalStopsCleanly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT or SIGTERM to send on Windows")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
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
			if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stderr.String(), "polyseg phantom: interrupted") {
				t.Errorf("exit %d (%v), stderr %q; want 1 and a line saying it was interrupted", code, err, stderr.String())
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

// TestMainChild runs main with the arguments after "--" when started by
// TestSignalStopsCleanly.
func TestMainChild(t *testing.T) {
	if os.Getenv("POLYSEG_MAIN_CHILD") == "" {
		t.Skip("only run as the child of TestSignalStopsCleanly")
	}
	os.Args = append([]string{"polyseg"}, flag.Args()...)
	main()
}
