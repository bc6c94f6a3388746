package stats

import (
	"context"
	"fmt"
	"math"

	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Segment holds the measurements of one label value.
type Segment struct {
	Label    uint16
	Voxels   int
	VolumeML float64
	// MeanHU and SDHU are the mean and the population standard deviation
	// of the scan's values inside the segment.
	MeanHU, SDHU float64
	// FirstSlice and LastSlice are the axial slices the segment spans,
	// numbered from 1 (the most inferior) as the app shows them.
	FirstSlice, LastSlice int
	// Extra holds the values of the columns passed to Compute, in order.
	Extra []float64
}

// Column is a measurement added to the built-in ones, for example a
// segment's surface area from a mesh.
type Column struct {
	// Name heads the column: lower case with its unit, "surface_mm2".
	Name string
	// Compute measures the segment of label value v.
	Compute func(ctx context.Context, scan *volume.Volume, labels *volume.Labels, v uint16) (float64, error)
}

// gridTolerance is how far (mm, per affine entry) the label grid may be
// from the scan's.
const gridTolerance = 1e-4

type acc struct {
	n        int
	sum, ssd float64
	lo, hi   [3]int // bounding box in voxel indices
}

// Compute measures every segment of labels on scan. ctx cancels the work
// between slices and between extra columns.
func Compute(ctx context.Context, scan *volume.Volume, labels *volume.Labels, extra []Column) ([]Segment, error) {
	if !labels.Grid.Equal(scan.Grid, gridTolerance) {
		return nil, fmt.Errorf("stats: the labels (%dx%dx%d) are not on the scan's grid (%dx%dx%d): resample them first",
			labels.Dims[0], labels.Dims[1], labels.Dims[2], scan.Dims[0], scan.Dims[1], scan.Dims[2])
	}
	if len(labels.Data) != scan.Len() || len(scan.Data) != scan.Len() {
		return nil, fmt.Errorf("stats: %d label values and %d scan values for %d voxels", len(labels.Data), len(scan.Data), scan.Len())
	}
	accs := make([]*acc, 1<<16)
	nx, ny, nz := scan.Dims[0], scan.Dims[1], scan.Dims[2]
	for k := range nz {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for j := range ny {
			row := (k*ny + j) * nx
			for i := range nx {
				v := labels.Data[row+i]
				if v == 0 {
					continue
				}
				cur := accs[v]
				if cur == nil {
					cur = &acc{lo: [3]int{i, j, k}, hi: [3]int{i, j, k}}
					accs[v] = cur
				}
				cur.n++
				cur.sum += float64(scan.Data[row+i])
				cur.lo = [3]int{min(cur.lo[0], i), min(cur.lo[1], j), min(cur.lo[2], k)}
				cur.hi = [3]int{max(cur.hi[0], i), max(cur.hi[1], j), max(cur.hi[2], k)}
			}
		}
	}
	// Second pass: squared deviations from each segment's mean.
	for n, v := range labels.Data {
		if v == 0 {
			continue
		}
		cur := accs[v]
		d := float64(scan.Data[n]) - cur.sum/float64(cur.n)
		cur.ssd += d * d
	}
	voxelML := VoxelML(scan.Grid)
	axial := viewer.NewSlicer(scan.Grid, viewer.Axial)
	var out []Segment
	for v, a := range accs {
		if a == nil {
			continue
		}
		s0, _, _ := axial.Locate(a.lo[0], a.lo[1], a.lo[2])
		s1, _, _ := axial.Locate(a.hi[0], a.hi[1], a.hi[2])
		out = append(out, Segment{
			Label:      uint16(v),
			Voxels:     a.n,
			VolumeML:   float64(a.n) * voxelML,
			MeanHU:     a.sum / float64(a.n),
			SDHU:       math.Sqrt(a.ssd / float64(a.n)),
			FirstSlice: min(s0, s1) + 1,
			LastSlice:  max(s0, s1) + 1,
		})
	}
	for _, col := range extra {
		for i := range out {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			x, err := col.Compute(ctx, scan, labels, out[i].Label)
			if err != nil {
				return nil, fmt.Errorf("stats: %s of label %d: %w", col.Name, out[i].Label, err)
			}
			out[i].Extra = append(out[i].Extra, x)
		}
	}
	return out, nil
}

// det3 is the determinant of an affine's 3x3 part: the signed volume of
// one voxel in mm³.
func det3(a volume.Affine) float64 {
	return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
}
