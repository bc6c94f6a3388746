package app

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/internal/realdata"
)

// realFixtures is the shared real CT, as seen from this package.
const realFixtures = "../../shared/data/real/totalsegmentator"

// labelFileCheck reads an image and its label file with nibabel and
// prints whether they share shape and affine, and the voxels of a value.
const labelFileCheck = `
import json, sys
import nibabel as nib, numpy as np
im, seg = nib.load(sys.argv[1]), nib.load(sys.argv[2])
a = np.asanyarray(seg.dataobj)
print(json.dumps({"same_shape": im.shape == seg.shape,
  "same_affine": bool(np.allclose(im.affine, seg.affine, atol=1e-4)),
  "voxels": int((a == int(sys.argv[3])).sum())}))
`

// TestWorkOnRealPatients works through a dataset made with the dataset
// package from patient A (NIfTI, with its reference labels), patient B
// (the DICOM series, not labelled yet) and a phantom: A opens with its
// labels, B is annotated, and what is saved for B lies on B's image grid
// as nibabel reads it.
func TestWorkOnRealPatients(t *testing.T) {
	va, la := realdata.PatientA(t, realFixtures)
	vb, _, _ := realdata.PatientB(t, realFixtures)
	scans, labels := smallPhantoms(t)
	ctx := context.Background()
	d, err := dataset.Init(ctx, filepath.Join(t.TempDir(), "Dataset901_Patients"), "Patients", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddCase(ctx, "patient_A", va, la, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddCase(ctx, "patient_B", vb, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddCase(ctx, "phantom_1", scans[0], labels[0], nil); err != nil {
		t.Fatal(err)
	}

	a := newAnnotator(t, d.Dir, "alice", WorkOptions{})
	next, ok := StepCase(a.w.Worklist(), "", 1, true)
	if !ok || next != "patient_A" {
		t.Fatalf("first case to do %q, want patient_A", next)
	}
	a.open(t, next)
	if !slices.Equal(labelsOf(a.s), la.Data) {
		t.Fatal("patient A opened without its reference labels")
	}
	liver := a.s.SegmentOf(5)
	if liver.Name != "liver" || liver.Voxels == 0 {
		t.Fatalf("patient A's liver in the segment list: %+v", liver)
	}
	// The list's volume is the stats package's.
	table, err := a.s.Statistics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range table.Segments {
		if seg.Label == 5 && seg.VolumeML != liver.VolumeML {
			t.Errorf("liver %g mL in the list, %g mL in the statistics", liver.VolumeML, seg.VolumeML)
		}
	}

	// Done, next: B, which has no labels yet.
	next, _ = StepCase(a.w.Worklist(), "patient_A", 1, true)
	if _, err := a.w.Open(ctx, next, CaseOptions{Leave: LeaveOptions{Status: dataset.Done}}, nil); err != nil {
		t.Fatal(err)
	}
	if info, _ := a.w.Current(); info.ID != "patient_B" {
		t.Fatalf("open case %q after done, next; want patient_B", info.ID)
	}
	idx := paintSlab(t, a.s, 5)
	if err := a.w.Close(ctx, LeaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if e := entryOf(t, a.w, "patient_A"); e.State.Status != dataset.Done {
		t.Errorf("patient A's status %s, want done", e.State.Status)
	}
	if e := entryOf(t, a.w, "patient_B"); e.State.Status != dataset.InProgress || e.Lock.Held {
		t.Errorf("patient B after closing: %+v", e)
	}
	c, _ := d.Case("patient_B")
	var got struct {
		SameShape  bool `json:"same_shape"`
		SameAffine bool `json:"same_affine"`
		Voxels     int  `json:"voxels"`
	}
	runPython(t, &got, labelFileCheck, c.Images[0], c.Label, "5")
	if !got.SameShape || !got.SameAffine || got.Voxels != len(idx) {
		t.Errorf("nibabel reads patient B's saved labels as %+v, want its image's grid and %d liver voxels", got, len(idx))
	}
	r, err := d.Check(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("check: %v", r.Problems)
	}
}

// runPython runs script with Debian's python3 and decodes its JSON output
// into v; it skips when nibabel and NumPy are not installed.
func runPython(t *testing.T, v any, script string, args ...string) {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import nibabel, numpy").Run(); err != nil {
		t.Skipf("python3 with nibabel and numpy (scripts/setup.sh installs them) not available: %v", err)
	}
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
}
