package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gappedSeries copies patient B into a temporary folder with one slice cut
// short in its pixel data, as an interrupted copy leaves it, and returns the
// folder and that file's name.
func gappedSeries(t *testing.T) (dir, broken string) {
	t.Helper()
	entries, err := os.ReadDir(patientBDir)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	for i, e := range entries {
		b, err := os.ReadFile(filepath.Join(patientBDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if i == len(entries)/2 {
			b, broken = b[:len(b)/2], e.Name()
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, broken
}

// TestAllowGaps checks that every command opening a DICOM folder refuses a
// series with an unreadable slice, naming the file and the flag, and reads
// it with --allow-gaps.
func TestAllowGaps(t *testing.T) {
	needFixture(t, patientBDir)
	dir, broken := gappedSeries(t)
	out := t.TempDir()
	coarse := filepath.Join(realDir, "example_seg_dicom.nii.gz")
	tests := []struct {
		name     string
		args     []string
		runtime  bool     // needs ONNX Runtime before it opens the scan
		wantCode int      // with --allow-gaps
		want     []string // in stdout and stderr with --allow-gaps
	}{
		{"info", []string{"info", dir}, false, 0, []string{"512 x 512 x 19", "skipped unreadable file", broken}},
		{"convert", []string{"convert", dir, filepath.Join(out, "c.nii.gz")}, false, 0, []string{"512 x 512 x 19", "warning: skipped unreadable file"}},
		// Label 2 (kidney_right) is absent: refine stops right after reading the scan
		// and the coarse mask, before SAM.
		{"refine", []string{"refine", "--coarse", coarse, "--label", "2", dir, filepath.Join(out, "r.nii.gz")}, false, 1, []string{"has no voxel with label 2"}},
		{"segment", []string{"segment", dir, filepath.Join(out, "s.nii.gz")}, true, 0, []string{"wrote " + filepath.Join(out, "s.nii.gz")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.runtime {
				skipWithoutRuntime(t)
			}
			code, _, stderr := runCmd(tc.args...)
			if code != 1 || !strings.Contains(stderr, broken) || !strings.Contains(stderr, "pass --allow-gaps") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 1 and one line naming %s and --allow-gaps", code, stderr, broken)
			}
			args := append([]string{tc.args[0], "--allow-gaps"}, tc.args[1:]...)
			code, stdout, stderr := runCmd(args...)
			if code != tc.wantCode {
				t.Errorf("with --allow-gaps: exit %d, want %d; stderr %q", code, tc.wantCode, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("with --allow-gaps: output lacks %q:\n%s%s", w, stdout, stderr)
				}
			}
		})
	}
}
