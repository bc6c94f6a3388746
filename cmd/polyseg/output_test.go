package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputChecked gives segment, refine and convert outputs that must be
// refused before any work: the input itself, a folder, a missing folder, a
// "folder" that is a file. Each is refused with a one-line message naming
// the output, and the input is left as it was.
func TestOutputChecked(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "scan.nii.gz")
	coarse := filepath.Join(dir, "coarse.nii.gz")
	for _, p := range []string{in, coarse} {
		if err := os.WriteFile(p, []byte("not read: the output is refused first"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	folder := filepath.Join(dir, "out.nii")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	// The same file under another name (Join would clean it).
	same := dir + string(filepath.Separator) + "." + string(filepath.Separator) + "scan.nii.gz"
	tests := []struct {
		name string
		args []string
		code int
		want string // in the message
	}{
		{"segment onto its input", []string{"segment", in, in}, 2, "is the input"},
		{"segment onto its input by another name", []string{"segment", in, same}, 2, "is the input"},
		{"refine onto its input", []string{"refine", "--coarse", coarse, in, in}, 2, "is the input"},
		{"refine onto the coarse mask", []string{"refine", "--coarse", coarse, in, coarse}, 2, "is the input"},
		{"convert onto its input", []string{"convert", in, in}, 2, "is the input"},
		{"segment onto a folder", []string{"segment", in, folder}, 2, "is a folder"},
		{"segment into a missing folder", []string{"segment", in, filepath.Join(dir, "missing", "out.nii.gz")}, 1, "no such file"},
		{"refine into a missing folder", []string{"refine", "--coarse", coarse, in, filepath.Join(dir, "missing", "out.nii.gz")}, 1, "no such file"},
		{"convert into a missing folder", []string{"convert", in, filepath.Join(dir, "missing", "out.nii.gz")}, 1, "no such file"},
		{"segment into a file", []string{"segment", in, filepath.Join(in, "out.nii.gz")}, 1, "is not a folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(tc.args...)
			out := tc.args[len(tc.args)-1]
			first, _, _ := strings.Cut(stderr, "\n")
			if code != tc.code || !strings.Contains(first, tc.want) || !strings.Contains(first, out) {
				t.Errorf("exit %d, stderr %q; want %d and a first line naming %s with %q", code, stderr, tc.code, out, tc.want)
			}
			for _, p := range []string{in, coarse} {
				if b, err := os.ReadFile(p); err != nil || !strings.HasPrefix(string(b), "not read") {
					t.Errorf("%s changed: %q, %v", p, b, err)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("%d entries in the folder afterwards, want the 3 made here (no temporary files)", len(entries))
	}
}

// TestProgressLineEnds checks that the progress line on a terminal is
// ended once, whether the work finished or stopped half way, so that an
// error printed after it starts on a line of its own.
func TestProgressLineEnds(t *testing.T) {
	tests := []struct {
		name    string
		reports [][2]int // done, total
		want    string
	}{
		{"finished", [][2]int{{0, 2}, {1, 2}, {2, 2}}, "\rx:   0% m                                       \rx:  50% m                                       \rx: 100% m                                       \n"},
		{"stopped half way", [][2]int{{0, 2}, {1, 2}}, "\rx:   0% m                                       \rx:  50% m                                       \n"},
		{"never started", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := newProgressLine(&b, "x")
			p.tty = true
			for _, r := range tc.reports {
				p.Report(r[0], r[1], "m")
			}
			p.end()
			p.end()
			if b.String() != tc.want {
				t.Errorf("wrote %q, want %q", b.String(), tc.want)
			}
		})
	}
}

// TestProgressPlainLines checks that progress written into a file or a
// pipe is a few plain lines, not hundreds of carriage-return updates.
func TestProgressPlainLines(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]io.Writer{"file": f, "pipe": w, "buffer": &bytes.Buffer{}} {
		if isTerminal(out) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
	var b bytes.Buffer
	p := newProgressLine(&b, "refine")
	for i := 0; i <= 500; i++ {
		p.Report(i, 500, fmt.Sprintf("slice %d", i))
	}
	p.end()
	got := b.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if strings.Contains(got, "\r") || len(lines) != 11 {
		t.Fatalf("wrote %d lines (%q), want 11 plain ones: 0%%, every 10%%, 100%%", len(lines), got)
	}
	if lines[0] != "refine:   0% slice 0" || lines[5] != "refine:  50% slice 250" || lines[10] != "refine: 100% slice 500" {
		t.Errorf("lines %q", lines)
	}
}

// TestInterruptedMessage checks that work stopped by an interrupt says so,
// on one line, with the exit status of Ctrl+C (130) when no signal is
// known (the signals themselves: TestSignalStopsCleanly).
func TestInterruptedMessage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"phantom", t.TempDir(), "--size", "64", "--slices", "8"}, &stdout, &stderr)
	if code != 130 || !strings.HasPrefix(stderr.String(), "polyseg phantom: interrupted") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 130 and one line saying it was interrupted", code, stderr.String())
	}
}

// TestSeveralSeriesHint checks that every command reading a scan says how
// to choose among the series of a folder that holds several.
func TestSeveralSeriesHint(t *testing.T) {
	needFixture(t, patientBDir)
	dir := twoSeries(t, "1.2.826.0.1.99.7")
	out := filepath.Join(t.TempDir(), "out.nii.gz")
	tests := [][]string{
		{"convert", dir, out},
		{"refine", "--coarse", filepath.Join(realDir, "example_seg_dicom.nii.gz"), dir, out},
	}
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			code, _, stderr := runCmd(args...)
			if code != 1 || !strings.Contains(stderr, "pass --series UID or --series N") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 1 and one line saying how to choose a series", code, stderr)
			}
		})
	}
}

// TestMissingInputNamedOnce checks that a missing input is named once, with
// the cause, not again inside a wrapped "stat PATH" error.
func TestMissingInputNamedOnce(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "gone.nii.gz")
	out := filepath.Join(dir, "out.nii.gz")
	tests := [][]string{
		{"info", missing},
		{"convert", missing, out},
		{"refine", "--coarse", missing, missing, out},
	}
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			code, _, stderr := runCmd(args...)
			if code != 1 || strings.Count(stderr, missing) != 1 || !strings.Contains(stderr, "no such file") {
				t.Errorf("exit %d, stderr %q; want 1 and %s named once with its cause", code, stderr, missing)
			}
		})
	}
}
