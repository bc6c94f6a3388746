package volume

import (
	"context"
	"path/filepath"
	"testing"
)

// TestNRRDRealPatients writes the real patients as NRRD and their labels
// as segmentations and reads them back: patient A (NIfTI, RAS) and patient
// B (a DICOM series, LPS, with a label file stored LAS). The grids must
// come back equal in world coordinates, the voxels equal, the labels must
// land on the scan voxel for voxel, and ITK (3D Slicer's reader) must place
// the files where the originals lie.
func TestNRRDRealPatients(t *testing.T) {
	dir := t.TempDir()
	a, err := ReadNIfTI(realFile(t, "example_ct.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	aLabels, _, err := LoadLabels(realFile(t, "example_seg_fast_force_split.nii.gz"), a.Grid)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), realFile(t, "example_ct_dicom"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bLabels, _, err := LoadLabels(patientBLabels, b.Grid)
	if err != nil {
		t.Fatal(err)
	}
	if a.Affine.AxisCodes() != "RAS" || b.Affine.AxisCodes() != "LPS" {
		t.Fatalf("fixtures changed: A %s, B %s", a.Affine.AxisCodes(), b.Affine.AxisCodes())
	}

	var written []string
	var grids []Grid
	for _, tt := range []struct {
		name string
		v    *Volume
		l    *Labels
	}{{"A", a, aLabels}, {"B", b, bLabels}} {
		t.Run(tt.name, func(t *testing.T) {
			exts := []string{".nrrd"}
			if tt.name == "B" {
				exts = append(exts, ".nhdr")
			}
			for _, ext := range exts {
				path := filepath.Join(dir, tt.name+ext)
				if err := WriteNRRD(path, tt.v); err != nil {
					t.Fatal(err)
				}
				got, err := Open(context.Background(), path, OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !got.Grid.Equal(tt.v.Grid, 1e-9) || len(got.Warnings) != 0 {
					t.Errorf("%s: grid %v, want %v; warnings %q", path, got.Grid, tt.v.Grid, got.Warnings)
				}
				for i := range tt.v.Data {
					if got.Data[i] != tt.v.Data[i] {
						t.Fatalf("%s: voxel %d = %g, want %g", path, i, got.Data[i], tt.v.Data[i])
					}
				}
				written, grids = append(written, path), append(grids, tt.v.Grid)
			}
			seg := filepath.Join(dir, tt.name+".seg.nrrd")
			if err := WriteLabels(seg, tt.l, tt.v); err != nil {
				t.Fatal(err)
			}
			back, warnings, err := LoadLabels(seg, tt.v.Grid)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 || !back.Grid.Equal(tt.v.Grid, 0) {
				t.Errorf("labels: warnings %q, grid %v", warnings, back.Grid)
			}
			for i := range tt.l.Data {
				if back.Data[i] != tt.l.Data[i] {
					t.Fatalf("labels voxel %d = %d, want %d", i, back.Data[i], tt.l.Data[i])
				}
			}
			written, grids = append(written, seg), append(grids, tt.v.Grid)
		})
	}
	// The labels written for B still lie on its liver and spleen: their
	// HU are those of enhanced parenchyma (see lies), which a flipped or
	// shifted grid would spread over fat, air and bone.
	seg, _, err := LoadLabels(filepath.Join(dir, "B.seg.nrrd"), b.Grid)
	if err != nil {
		t.Fatal(err)
	}
	for _, organ := range []uint16{1, 5} {
		if err := lies(statsUnder(b, seg, organ)); err != nil {
			t.Errorf("label %d after the round trip: %v", organ, err)
		}
	}

	t.Run("ITK", func(t *testing.T) {
		for n, m := range readWithITK(t, written...) {
			if m.Error != "" || !affineClose(m.affineRAS(), grids[n].Affine, 1e-6) {
				t.Errorf("%s: ITK's grid %v (%s), want %v", written[n], m.affineRAS(), m.Error, grids[n].Affine)
			}
		}
	})
}
