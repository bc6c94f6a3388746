package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/metrics"
	"github.com/polyseg/polyseg/volume"
)

func TestPropagateUsage(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.nii.gz")
	tests := []struct {
		name string
		args []string
	}{
		{"no arguments", []string{"propagate"}},
		{"no --anchor-mask", []string{"propagate", "--label", "5", "in.nii.gz", out}},
		{"no --label", []string{"propagate", "--anchor-mask", "m.nii.gz", "in.nii.gz", out}},
		{"label 0", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "0", "in.nii.gz", out}},
		{"label too large", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "70000", "in.nii.gz", out}},
		{"unknown engine", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "5", "--engine", "sam3", "in.nii.gz", out}},
		{"sam2 without folder", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "5", "--engine", "sam2", "in.nii.gz", out}},
		{"folder for sam", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "5", "--sam2", dir, "in.nii.gz", out}},
		{"bad range", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "5", "--range", "9:3", "in.nii.gz", out}},
		{"range without colon", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "5", "--range", "9", "in.nii.gz", out}},
		{"min-iou above 1", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "5", "--min-iou", "1.5", "in.nii.gz", out}},
		{"grow NaN", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "5", "--grow-mm", "NaN", "in.nii.gz", out}},
		{"output not NIfTI", []string{"propagate", "--anchor-mask", "m.nii.gz", "--label", "5", "in.nii.gz", filepath.Join(dir, "out.png")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(tc.args...)
			if code != 2 || !strings.Contains(stderr, "usage: polyseg propagate") {
				t.Errorf("exit %d, stderr %q; want 2 and the usage", code, stderr)
			}
		})
	}
}

// Propagating patient B's reference liver from one slice gives the liver
// in 3D, with a provenance sidecar; a mask without the label, an anchor
// slice outside the scan or a range leaving out the anchor is refused.
func TestPropagatePatientB(t *testing.T) {
	skipWithoutRuntime(t)
	v, ref, ctDir := realdata.PatientB(t, realData)
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	best, area := 0, 0
	for k := 0; k < sl.Slices; k++ {
		m, _ := sl.Mask(ref, k, 5)
		if a := m.Area(); a > area {
			best, area = k, a
		}
	}
	maskPath := filepath.Join(realData, "example_seg_dicom.nii.gz")
	dir := t.TempDir()
	out := filepath.Join(dir, "liver.nii.gz")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"label absent", []string{"--label", "999"}, "no voxel of label 999"},
		{"anchor slice outside", []string{"--label", "5", "--anchor-slice", "40"}, "axial slices 0..19"},
		{"range leaves out the anchor", []string{"--label", "5", "--anchor-slice", itoa(best), "--range", "0:" + itoa(best-1)}, "leaves out the anchor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"propagate", "--anchor-mask", maskPath}, tc.args...)
			code, _, stderr := runCmd(append(args, ctDir, out)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure saying %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a refused propagation wrote its output")
			}
		})
	}

	code, stdout, stderr := runCmd("propagate", "--anchor-mask", maskPath, "--label", "5", "--anchor-slice", itoa(best), ctDir, out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "engine sam on CPU") {
		t.Errorf("stdout %q does not say which engine ran on which provider", stdout)
	}
	got, _, err := volume.LoadLabels(out, v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	p, q := make([]bool, len(got.Data)), make([]bool, len(got.Data))
	for i := range p {
		p[i], q[i] = got.Data[i] == 5, ref.Data[i] == 5
		if got.Data[i] != 0 && got.Data[i] != 5 {
			t.Fatalf("output holds label %d", got.Data[i])
		}
	}
	res, err := metrics.Compare(p, q, v.Dims, v.Spacing())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("patient B liver from slice %d: Dice %.3f, HD95 %.1f mm", best, res.Dice, res.HD95)
	if res.Dice < 0.9 {
		t.Errorf("Dice %.3f < 0.9", res.Dice)
	}
	b, err := os.ReadFile(out + ".provenance.json")
	if err != nil {
		t.Fatal(err)
	}
	var side struct {
		Edits []struct {
			What struct {
				Tool   string `json:"tool"`
				Engine struct {
					Engine  string `json:"engine"`
					Anchors []int  `json:"anchor_slices"`
				} `json:"engine"`
			} `json:"what"`
		} `json:"edits"`
	}
	if err := json.Unmarshal(b, &side); err != nil {
		t.Fatal(err)
	}
	if len(side.Edits) != 1 || side.Edits[0].What.Tool != "propagate" || side.Edits[0].What.Engine.Engine != "sam" ||
		len(side.Edits[0].What.Engine.Anchors) != 1 || side.Edits[0].What.Engine.Anchors[0] != best {
		t.Errorf("provenance %s does not record the propagation from slice %d", b, best)
	}
}

// Patient A's right kidney from its slice 80 (index 79): both chains stop
// on a slice that still holds a pole of it, and the command names the
// slice past each as doubtful, apart from the slices whose confidence is
// low, and writes nothing there (as the app numbers them, from 1: 67 and
// 102).
func TestPropagateNamesTheSlicesPastAKeptTip(t *testing.T) {
	skipWithoutRuntime(t)
	v, _ := realdata.PatientA(t, realData)
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "kidney.nii.gz")
	code, stdout, stderr := runCmd("propagate", "--anchor-mask", filepath.Join(realData, "example_seg_fast_force_split.nii.gz"),
		"--label", "2", "--anchor-slice", "79", filepath.Join(realData, "example_ct.nii.gz"), out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	const want = "doubtful, not propagated but the organ may go on there: slices 67, 102"
	if !strings.Contains(stdout, want) {
		t.Errorf("stdout %q; want %q", stdout, want)
	}
	got, _, err := volume.LoadLabels(out, v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{66, 101} {
		if m, _ := sl.Mask(got, k, 2); m.Area() != 0 {
			t.Errorf("slice %d, flagged and not propagated, holds %d voxels of the kidney", k+1, m.Area())
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every option of the "sam" engine that changes what a propagation from
// the command line decides is a flag, under its JSON name with dashes, and
// sets that option: README promises it. settle_dice acts only when a span
// runs again after a correction, which the command line never does.
func TestPropagateEveryOptionIsAFlag(t *testing.T) {
	o := propagate.DefaultSAMOptions()
	fs := flag.NewFlagSet("propagate", flag.ContinueOnError)
	registerPropagationOptions(fs, &o)
	typ := reflect.TypeOf(o)
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name == "settle_dice" {
			continue
		}
		f := fs.Lookup(strings.ReplaceAll(name, "_", "-"))
		if f == nil {
			t.Errorf("option %s has no flag --%s", name, strings.ReplaceAll(name, "_", "-"))
			continue
		}
		if err := f.Value.Set("7"); err != nil {
			t.Errorf("--%s 7: %v", f.Name, err)
			continue
		}
		if got := reflect.ValueOf(o).Field(i); fmt.Sprint(got.Interface()) != "7" {
			t.Errorf("--%s 7 set %s to %v", f.Name, typ.Field(i).Name, got.Interface())
		}
	}
}
