package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvaluateInteractiveUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no arguments", nil},
		{"one argument", []string{"--label", "5", "scan.nii.gz"}},
		{"no label", []string{"scan.nii.gz", "ref.nii.gz"}},
		{"label 0", []string{"--label", "0", "scan.nii.gz", "ref.nii.gz"}},
		{"max 0", []string{"--label", "5", "--max", "0", "scan.nii.gz", "ref.nii.gz"}},
		{"unknown start", []string{"--label", "5", "--start", "polygon", "scan.nii.gz", "ref.nii.gz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(append([]string{"evaluate-interactive"}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, "usage: polyseg evaluate-interactive") {
				t.Errorf("exit %d, stderr %q; want 2 and the usage", code, stderr)
			}
		})
	}
}

// The robot on patient A's left kidney, one interaction each (the box and
// its propagation; one traced slice): a line per interaction, the NoC
// line, and the CSVs with the header.
func TestEvaluateInteractivePatientA(t *testing.T) {
	skipWithoutRuntime(t)
	scan := filepath.Join(realData, "example_ct.nii.gz")
	if _, err := os.Stat(scan); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	out := filepath.Join(t.TempDir(), "kidney.csv")
	code, stdout, stderr := runCmd("evaluate-interactive", "--label", "3", "--max", "1", "--baseline", "--csv", out,
		scan, filepath.Join(realData, "example_seg_fast_force_split.nii.gz"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Log(stdout)
	for _, want := range []string{"kidney_left (label 3)", "  1  Dice 0.", "box", "trace", "NoC@0.90 "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, path := range []string{out, strings.TrimSuffix(out, ".csv") + "-manual.csv"} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || strings.Join(rows[0], ",") != "interaction,dice,slice,seconds" || rows[1][0] != "1" {
			t.Errorf("%s: %v; want the header and interaction 1", path, rows)
		}
	}
}
