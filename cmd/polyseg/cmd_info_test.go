package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real fixtures, read in place (see shared/data/real/README.md).
const (
	realDir       = "../../../shared/data/real/totalsegmentator"
	patientBDir   = realDir + "/example_ct_dicom"
	patientASmall = realDir + "/example_ct_sm.nii.gz"
)

func needFixture(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("fixture %s absent: %v", path, err)
	}
}

func runVolumeCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestInfo(t *testing.T) {
	needFixture(t, patientBDir)
	first, err := os.ReadDir(patientBDir)
	if err != nil {
		t.Fatal(err)
	}
	dicomSeries := []string{
		"DICOM folder", "1 series", `[1] "CT Body 3.0" CT, 20 slices of 512x512`, "JPEG 2000", "UID (none)",
	}
	dicomVolume := []string{
		"dimensions:  512 x 512 x 20", "spacing:     0.9766 x 0.9766 x 2 mm", "orientation: LPS",
		"[    -0.9766      0.0000      0.0000    249.5117 ]",
		"[     0.0000     -0.9766      0.0000    437.5117 ]",
		"[     0.0000      0.0000      2.0000   -804.5000 ]",
		"HU range:    -1024 .. 1839", "warnings:    none",
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"DICOM folder", []string{patientBDir}, append(dicomSeries, dicomVolume...)},
		{"series chosen after the folder", []string{patientBDir, "--series", "1"}, dicomVolume},
		{"one DICOM file opens its series", []string{filepath.Join(patientBDir, first[0].Name())}, dicomVolume},
		{"NIfTI", []string{patientASmall}, []string{"dimensions:  122 x 101 x 30", "spacing:     3 x 3 x 3 mm", "orientation: RAS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runVolumeCmd(t, append([]string{"info"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestInfoErrors(t *testing.T) {
	needFixture(t, patientBDir)
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"no argument", nil, 2, "usage: polyseg info"},
		{"two arguments", []string{patientBDir, patientBDir}, 2, "usage: polyseg info"},
		{"series 0", []string{"--series", "0", patientBDir}, 2, "must be 1 or more"},
		{"missing file", []string{"/nonexistent/ct.nii.gz"}, 1, "/nonexistent/ct.nii.gz"},
		{"not a volume", []string{notes}, 1, "notes.txt: not a NIfTI file"},
		{"series out of range", []string{"--series", "3", patientBDir}, 1, "series index 3 out of range 1..1"},
		{"empty folder", []string{t.TempDir()}, 1, "no DICOM images"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runVolumeCmd(t, append([]string{"info"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tc.wantCode, tc.want)
			}
			if tc.wantCode == 1 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("stderr is not one line: %q", errs)
			}
		})
	}
}

// twoSeries copies patient B into a temporary folder and gives its odd
// files a SeriesInstanceUID (blank in the anonymised originals; the element
// is top-level, so growing it keeps the file valid): two series of 10.
func twoSeries(t *testing.T, uid string) string {
	t.Helper()
	entries, err := os.ReadDir(patientBDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(uid) != 16 {
		t.Fatalf("uid %q: want 16 characters", uid)
	}
	dir := t.TempDir()
	for i, e := range entries {
		b, err := os.ReadFile(filepath.Join(patientBDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			b = bytes.Replace(b, []byte("\x20\x00\x0e\x00UI\x00\x00"), []byte("\x20\x00\x0e\x00UI\x10\x00"+uid), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInfoAndConvertTwoSeries(t *testing.T) {
	needFixture(t, patientBDir)
	const uid = "1.2.826.0.1.99.7"
	dir := twoSeries(t, uid)
	out := filepath.Join(t.TempDir(), "x.nii.gz")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"info lists both", []string{"info", dir}, 0, []string{"2 series", "UID (none)", "UID " + uid, "10 slices", "choose a series with --series"}},
		{"info by index", []string{"info", "--series", "2", dir}, 0, []string{"dimensions:  512 x 512 x 10", "x 4 mm"}},
		{"info by UID", []string{"info", "--series", uid, dir}, 0, []string{"dimensions:  512 x 512 x 10"}},
		{"convert without a choice", []string{"convert", dir, out}, 1, []string{"holds 2 series", uid, "pass --series UID or --series N"}},
		{"convert by UID", []string{"convert", "--series", uid, dir, out}, 0, []string{"512 x 512 x 10 voxels"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runVolumeCmd(t, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output lacks %q:\n%s%s", w, stdout, stderr)
				}
			}
		})
	}
}
