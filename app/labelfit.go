package app

import (
	"fmt"
	"math"
	"os"

	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// MaxLabelValues is the most distinct values a file may hold for
// FitsAsLabels to take it for labels: a segmentation has one per structure
// (TotalSegmentator's 117 and background), a scan thousands (every HU of
// its range).
const MaxLabelValues = 512

// LabelFit is FitsAsLabels' answer.
type LabelFit struct {
	// Labels is set when the file fits the open scan as its labels.
	Labels bool
	// Values is how many distinct values the file holds (0 when it was
	// not read that far); SameGrid is set when it lies on the scan's grid
	// (else it overlaps it and would be resampled).
	Values   int
	SameGrid bool
	// Why says, for the user, why the file does or does not fit.
	Why string
}

// FitsAsLabels tells whether the NIfTI or NRRD file at path could be the open
// scan's labels, as a file dropped on the window may be: its voxels whole
// numbers from 0 to 65535, at most MaxLabelValues distinct ones, on the
// scan's grid or on one overlapping it in the world. A file that is not
// NIfTI, or does not fit, is no error: the answer says why. An error is a
// file that cannot be read at all.
func (s *Session) FitsAsLabels(path string) (LabelFit, error) {
	v, _ := s.Volume()
	if v == nil {
		return LabelFit{Why: "no scan is open"}, nil
	}
	if st, err := os.Stat(path); err != nil {
		return LabelFit{}, err
	} else if st.IsDir() {
		return LabelFit{Why: "a folder"}, nil
	}
	// The header first: a file elsewhere in space is no label file of
	// this scan, whatever it holds.
	var grid volume.Grid
	if volume.IsNRRDName(path) {
		h, err := volume.ReadNRRDHeader(path)
		if err != nil {
			return LabelFit{Why: "not a NRRD file polyseg reads"}, nil
		}
		grid = h.Grid
	} else {
		h, err := volume.ReadNIfTIHeader(path)
		if err != nil {
			return LabelFit{Why: "not a NIfTI or NRRD file"}, nil
		}
		grid = h.Grid
	}
	fit := LabelFit{SameGrid: grid.Equal(v.Grid, viewer.GridTolerance)}
	if !fit.SameGrid && !overlaps(grid, v.Grid) {
		fit.Why = "it does not overlap the open scan in space"
		return fit, nil
	}
	// A scan fails here at once (its first voxel is air, -1000 HU, or a
	// fraction); labels are read through.
	l, _, err := volume.ReadLabels(path)
	if err != nil {
		fit.Why = "its voxels are not label values (whole numbers from 0 to 65535)"
		return fit, nil
	}
	seen := make([]bool, math.MaxUint16+1)
	for _, x := range l.Data {
		if !seen[x] {
			seen[x] = true
			fit.Values++
		}
	}
	if fit.Values > MaxLabelValues {
		fit.Why = fmt.Sprintf("it holds %d distinct values, more than a segmentation has", fit.Values)
		return fit, nil
	}
	fit.Labels = true
	fit.Why = fmt.Sprintf("%d label values, ", fit.Values)
	if fit.SameGrid {
		fit.Why += "on the scan's grid"
	} else {
		fit.Why += "on another grid overlapping the scan's (it would be resampled)"
	}
	return fit, nil
}

// overlaps reports whether the world boxes of two grids (voxel centres
// ±half a voxel) intersect.
func overlaps(a, b volume.Grid) bool {
	lo1, hi1 := worldBox(a)
	lo2, hi2 := worldBox(b)
	for c := range 3 {
		if hi1[c] < lo2[c] || hi2[c] < lo1[c] {
			return false
		}
	}
	return true
}

func worldBox(g volume.Grid) (lo, hi [3]float64) {
	for c := range 3 {
		lo[c], hi[c] = math.Inf(1), math.Inf(-1)
	}
	for n := range 8 {
		var ijk [3]float64
		for c := range 3 {
			ijk[c] = -0.5
			if n>>c&1 == 1 {
				ijk[c] = float64(g.Dims[c]) - 0.5
			}
		}
		x, y, z := g.Affine.Apply(ijk[0], ijk[1], ijk[2])
		for c, w := range [3]float64{x, y, z} {
			lo[c], hi[c] = math.Min(lo[c], w), math.Max(hi[c], w)
		}
	}
	return lo, hi
}
