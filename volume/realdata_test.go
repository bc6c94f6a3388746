package volume

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// patientBLabels is TotalSegmentator's label volume for patient B, stored
// LAS (rows flipped against the DICOM pixel order) on the same lattice.
const patientBLabels = "../../shared/data/real/totalsegmentator/example_seg_dicom.nii.gz"

// organStats are the HU statistics of the voxels under one label.
type organStats struct {
	n        int
	mean, sd float64
	inWindow float64 // share in [40, 160] HU: enhanced soft tissue
	inBody   float64 // share above -200 HU: not air
}

func statsUnder(v *Volume, l *Labels, label uint16) organStats {
	var s organStats
	var sum, sum2 float64
	var win, body int
	for i, x := range l.Data {
		if x != label {
			continue
		}
		h := float64(v.Data[i])
		s.n++
		sum += h
		sum2 += h * h
		if h >= 40 && h <= 160 {
			win++
		}
		if h > -200 {
			body++
		}
	}
	if s.n == 0 {
		return s
	}
	n := float64(s.n)
	s.mean = sum / n
	s.sd = math.Sqrt(math.Max(0, sum2/n-s.mean*s.mean))
	s.inWindow = float64(win) / n
	s.inBody = float64(body) / n
	return s
}

// lies tells whether the statistics are those of a contrast-enhanced
// parenchymal organ: the HU of liver and spleen in portal venous phase, a
// narrow spread, and nothing in air. Measured on patient B with the labels
// and scan aligned (by dcm2niix and nibabel): liver 89.3 ± 21.7 HU, 98.0%
// in the window; spleen 79.6 ± 20.6 HU, 97.6%. A mirrored or swapped label
// grid spreads the label over fat, air and bone: the spread at least
// doubles or the window share drops below 95% (the closest miss, the
// spleen mirrored head to foot, has 72.8 ± 37.4 HU and 92.4%).
func lies(s organStats) error {
	switch {
	case s.n < 1000:
		return fmt.Errorf("only %d voxels", s.n)
	case s.mean < 60 || s.mean > 130:
		return fmt.Errorf("mean %.1f HU outside enhanced parenchyma's 60..130", s.mean)
	case s.sd > 30:
		return fmt.Errorf("spread %.1f HU, over 30", s.sd)
	case s.inWindow < 0.95:
		return fmt.Errorf("%.1f%% of voxels in 40..160 HU, under 95%%", 100*s.inWindow)
	case s.inBody < 0.999:
		return fmt.Errorf("%.2f%% of voxels in air", 100*(1-s.inBody))
	}
	return nil
}

// flipAxis mirrors a grid along voxel axis a while keeping the box it
// covers: the voxel stored at index i is placed where index n-1-i was.
func flipAxis(g Grid, a int) Grid {
	n := float64(g.Dims[a] - 1)
	for r := 0; r < 3; r++ {
		g.Affine[r][3] += g.Affine[r][a] * n
		g.Affine[r][a] = -g.Affine[r][a]
	}
	return g
}

// TestLabelsLieOnOrgansOfDICOM is the end-to-end check of the geometry of
// both readers: TotalSegmentator's liver and spleen, read from a NIfTI file
// in another voxel order, land on the liver and spleen of the DICOM series.
func TestLabelsLieOnOrgansOfDICOM(t *testing.T) {
	needPatientB(t)
	ct, err := ReadDICOM(context.Background(), patientB, DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	labels, warnings, err := LoadLabels(patientBLabels, ct.Grid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LoadLabels warnings: %q", warnings)
	organs := []struct {
		name  string
		label uint16
	}{{"spleen", 1}, {"liver", 5}}
	for _, o := range organs {
		s := statsUnder(ct, labels, o.label)
		t.Logf("%s: %d voxels, %.1f ± %.1f HU, %.1f%% in 40..160 HU", o.name, s.n, s.mean, s.sd, 100*s.inWindow)
		if err := lies(s); err != nil {
			t.Errorf("%s label does not lie on the %s: %v", o.name, o.name, err)
		}
	}

	// Negative controls: the same check on a deliberately wrong label grid
	// must fail, or it proves nothing.
	raw, err := ReadLabelsNIfTI(patientBLabels)
	if err != nil {
		t.Fatal(err)
	}
	swapIJ := raw.Grid
	for r := 0; r < 3; r++ {
		swapIJ.Affine[r][0], swapIJ.Affine[r][1] = swapIJ.Affine[r][1], swapIJ.Affine[r][0]
	}
	wrong := []struct {
		name string
		grid Grid
	}{
		{"rows flipped (LPS read as LAS)", flipAxis(raw.Grid, 1)},
		{"columns flipped", flipAxis(raw.Grid, 0)},
		{"slices flipped", flipAxis(raw.Grid, 2)},
		{"i and j swapped", swapIJ},
	}
	for _, w := range wrong {
		moved := &Labels{Grid: w.grid, Data: raw.Data}
		r, err := ResampleLabels(moved, ct.Grid)
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		for _, o := range organs {
			err := lies(statsUnder(ct, r, o.label))
			if err == nil {
				t.Errorf("%s: the %s check passes on a wrong grid", w.name, o.name)
				continue
			}
			t.Logf("%s: %s rejected as it should be: %v", w.name, o.name, err)
		}
	}
}
