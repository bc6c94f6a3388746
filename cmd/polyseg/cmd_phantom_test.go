package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

func runPhantomCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"phantom"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPhantomUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
	}{
		{"no directory", nil},
		{"two directories", []string{dir, dir}},
		{"unknown scanner", []string{dir, "--scanner", "C"}},
		{"zero count", []string{dir, "--count", "0"}},
		{"tiny matrix", []string{dir, "--size", "4"}},
		{"negative slices", []string{dir, "--slices", "-3"}},
		{"zero matrix", []string{dir, "--size", "0"}},
		{"zero slices", []string{dir, "--slices", "0"}},
		{"more than 8 GiB", []string{dir, "--size", "4096", "--slices", "4096"}},
		{"unknown flag", []string{dir, "--colour"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runPhantomCmd(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, "usage: polyseg phantom") {
				t.Errorf("exit %d, stderr %q; want 2 and the usage", code, stderr)
			}
		})
	}
}

func TestPhantomSingle(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runPhantomCmd(t, dir, "--seed", "5", "--size", "64", "--slices", "12", "--scanner", "b")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	img := filepath.Join(dir, "phantom_B_0005.nii.gz")
	lab := filepath.Join(dir, "phantom_B_0005_labels.nii.gz")
	if !strings.Contains(stdout, img) {
		t.Errorf("stdout %q does not name %s", stdout, img)
	}
	v, err := volume.ReadNIfTI(img)
	if err != nil {
		t.Fatal(err)
	}
	if v.Dims != [3]int{64, 64, 12} {
		t.Errorf("dims %v, want 64x64x12", v.Dims)
	}
	if sp := v.Spacing(); sp[2] != 5 {
		t.Errorf("slice spacing %g, want scanner B's 5 mm", sp[2])
	}
	l, warn, err := volume.LoadLabels(lab, v.Grid)
	if err != nil || len(warn) != 0 {
		t.Fatalf("labels: %v %v", err, warn)
	}
	if l.Max() == 0 {
		t.Error("label volume is empty")
	}
}

// TestPhantomMSD checks the Decathlon layout, dataset.json, and that the
// same seeds write the same files byte for byte.
func TestPhantomMSD(t *testing.T) {
	var dirs [2]string
	for i := range dirs {
		dirs[i] = t.TempDir()
		if code, _, stderr := runPhantomCmd(t, dirs[i], "--count", "2", "--seed", "10", "--size", "48", "--slices", "8"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	b, err := os.ReadFile(filepath.Join(dirs[0], "dataset.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Modality    map[string]string `json:"modality"`
		Labels      map[string]string `json:"labels"`
		NumTraining int               `json:"numTraining"`
		Training    []struct {
			Image, Label string
			Seed         int64
			Scanner      struct {
				Preset           string  `json:"preset"`
				SliceThicknessmm float64 `json:"slice_thickness_mm"`
			}
		} `json:"training"`
	}
	if err := json.Unmarshal(b, &ds); err != nil {
		t.Fatalf("dataset.json: %v", err)
	}
	if ds.Modality["0"] != "CT" || ds.Labels["0"] != "background" || ds.Labels["5"] != "liver" || ds.Labels["1"] != "spleen" {
		t.Errorf("modality %v, labels %v", ds.Modality, ds.Labels)
	}
	if ds.NumTraining != 2 || len(ds.Training) != 2 {
		t.Fatalf("numTraining %d, %d entries; want 2", ds.NumTraining, len(ds.Training))
	}
	for i, c := range ds.Training {
		name := filepath.Base(c.Image)
		if c.Image != "./imagesTr/"+name || c.Label != "./labelsTr/"+name {
			t.Errorf("case %d: image %s, label %s: want the same name in imagesTr and labelsTr", i, c.Image, c.Label)
		}
		if c.Seed != int64(10+i) || c.Scanner.Preset != "A" || c.Scanner.SliceThicknessmm != 3 {
			t.Errorf("case %d: seed %d, scanner %+v", i, c.Seed, c.Scanner)
		}
		for _, rel := range []string{c.Image, c.Label} {
			p0, p1 := filepath.Join(dirs[0], rel), filepath.Join(dirs[1], rel)
			b0, err0 := os.ReadFile(p0)
			b1, err1 := os.ReadFile(p1)
			if err0 != nil || err1 != nil {
				t.Fatalf("%v %v", err0, err1)
			}
			if !bytes.Equal(b0, b1) {
				t.Errorf("%s differs between two runs with the same seeds", rel)
			}
		}
	}
}
