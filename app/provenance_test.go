package app

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// TestProvenanceSidecars checks that export and autosave describe the
// edits in effect, that undo marks an edit undone rather than forgetting
// it, and that restoring an autosave brings its record along.
func TestProvenanceSidecars(t *testing.T) {
	dir := t.TempDir()
	scan := filepath.Join(dir, "scan.nii.gz")
	s := newTestSession(t, Options{AutosaveDir: filepath.Join(dir, "fallback")})
	if err := s.SetVolume(testVolume(0), scan); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paint("Paint", []int{1, 2, 3}, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceLabelsWith("Propagate", labelsWith(s, 10, 7), &Provenance{Tool: "propagate", Labels: []uint16{7},
		Prompts: &Prompts{Plane: "axial", AnchorSlices: []int{4}}}); err != nil {
		t.Fatal(err)
	}
	s.Undo()

	out := filepath.Join(dir, "labels.nii.gz")
	if err := s.ExportLabels(out); err != nil {
		t.Fatal(err)
	}
	got, err := ReadProvenance(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("export sidecar has %d edits, want 2: %+v", len(got), got)
	}
	if got[0].What.Tool != "Paint" || got[0].Voxels != 3 || got[0].Undone {
		t.Errorf("first edit %+v, want an applied Paint of 3 voxels", got[0])
	}
	if got[1].What.Tool != "propagate" || !got[1].Undone || got[1].What.Prompts.AnchorSlices[0] != 4 {
		t.Errorf("second edit %+v, want an undone propagation from slice 4", got[1])
	}

	s.Redo()
	saved, err := s.Autosave()
	if err != nil || saved == "" {
		t.Fatalf("autosave: %q, %v", saved, err)
	}
	auto, err := ReadProvenance(saved)
	if err != nil {
		t.Fatal(err)
	}
	if len(auto) != 2 || auto[1].Undone {
		t.Fatalf("autosave sidecar %+v, want the redone propagation in effect", auto)
	}

	// A new session of the same scan restores the autosave and its record.
	s2 := newTestSession(t, Options{AutosaveDir: filepath.Join(dir, "fallback")})
	if err := s2.SetVolume(testVolume(0), scan); err != nil {
		t.Fatal(err)
	}
	a := s2.FindAutosave()
	if a == nil {
		t.Fatal("autosave not found")
	}
	if _, err := s2.RestoreAutosave(a); err != nil {
		t.Fatal(err)
	}
	log := s2.ProvenanceLog()
	if len(log) != 1 || log[0].What.Tool != "restore-autosave" || len(log[0].What.Earlier) != 2 {
		t.Fatalf("restored record %+v, want one restore holding the two earlier edits", log)
	}
	if err := s2.DiscardAutosave(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadProvenance(saved); err == nil {
		t.Error("discarding the autosave left its sidecar")
	}
}

// labelsWith returns a copy of s's labels with n voxels from index 100
// set to v.
func labelsWith(s *Session, n int, v uint16) *volume.Labels {
	var out *volume.Labels
	s.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		out = &volume.Labels{Grid: l.Labels.Grid, Data: slices.Clone(l.Labels.Data)}
	})
	for i := 100; i < 100+n; i++ {
		out.Data[i] = v
	}
	return out
}
