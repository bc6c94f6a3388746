package section

import (
	"fmt"

	"github.com/polyseg/polyseg/metrics"
	"github.com/polyseg/polyseg/volume"
)

// Plane names a slicing direction. Only axial slices are segmented and
// refined for now: the U-Net is trained on axial slices and the CT data's
// in-plane resolution is best there.
type Plane string

// Axial is the plane of constant world z (superior–inferior).
const Axial Plane = "axial"

// Slicer maps between a volume's voxels and its axial slices in radiological
// orientation, the 2D image every model sees and the viewer shows: row 0 is
// the most anterior row, rows run towards posterior; column 0 is the
// patient's right, columns run towards the patient's left. Slice index k is
// the voxel index along the voxel axis closest to world z, in file order.
//
// The mapping is derived from Grid.Affine.Axes(), so it is the same picture
// whatever the voxel order on disk (RAS, LAS, LPS ...); for an oblique grid
// it is the nearest axis-aligned picture, as in the viewer.
type Slicer struct {
	Grid       volume.Grid
	Rows, Cols int
	Slices     int
	// sliceAxis, rowAxis and colAxis are voxel axes (0=i, 1=j, 2=k);
	// rowFlip / colFlip are set when the image index runs against the
	// voxel index.
	sliceAxis, rowAxis, colAxis int
	rowFlip, colFlip            bool
}

// NewSlicer returns the slicer for g in plane p.
func NewSlicer(g volume.Grid, p Plane) (*Slicer, error) {
	if p != Axial {
		return nil, fmt.Errorf("plane %q not supported (only axial)", p)
	}
	if err := volume.CheckDims(g.Dims); err != nil {
		return nil, err
	}
	world, sign := g.Affine.Axes()
	s := &Slicer{Grid: g}
	for c := 0; c < 3; c++ {
		switch world[c] {
		case 0: // x: columns run from +x (right) to -x (left)
			s.colAxis, s.colFlip = c, sign[c] > 0
		case 1: // y: rows run from +y (anterior) to -y (posterior)
			s.rowAxis, s.rowFlip = c, sign[c] > 0
		case 2:
			s.sliceAxis = c
		}
	}
	s.Rows, s.Cols, s.Slices = g.Dims[s.rowAxis], g.Dims[s.colAxis], g.Dims[s.sliceAxis]
	return s, nil
}

// PixelSpacing returns the size of one image pixel in mm (row direction,
// column direction).
func (s *Slicer) PixelSpacing() (dr, dc float64) {
	sp := s.Grid.Spacing()
	return sp[s.rowAxis], sp[s.colAxis]
}

// SliceSpacing returns the distance between slices in mm.
func (s *Slicer) SliceSpacing() float64 { return s.Grid.Spacing()[s.sliceAxis] }

// Voxel returns the voxel (i, j, k) under image pixel (r, c) of slice k.
func (s *Slicer) Voxel(k, r, c int) [3]int {
	var v [3]int
	if s.rowFlip {
		r = s.Rows - 1 - r
	}
	if s.colFlip {
		c = s.Cols - 1 - c
	}
	v[s.sliceAxis], v[s.rowAxis], v[s.colAxis] = k, r, c
	return v
}

// Pixel returns the slice and image pixel of voxel v: the inverse of Voxel.
func (s *Slicer) Pixel(v [3]int) (k, r, c int) {
	k, r, c = v[s.sliceAxis], v[s.rowAxis], v[s.colAxis]
	if s.rowFlip {
		r = s.Rows - 1 - r
	}
	if s.colFlip {
		c = s.Cols - 1 - c
	}
	return k, r, c
}

// index returns the data index of pixel (r, c) of slice k.
func (s *Slicer) index(k, r, c int) int {
	v := s.Voxel(k, r, c)
	return s.Grid.Index(v[0], v[1], v[2])
}

// strides returns the data index of pixel (0, 0) of slice k and how far it
// moves per row and per column: along a row and down a column the index
// moves by a constant step, so only the first pixel goes through the
// general mapping.
func (s *Slicer) strides(k int) (origin, dr, dc int) {
	origin = s.index(k, 0, 0)
	if s.Rows > 1 {
		dr = s.index(k, 1, 0) - origin
	}
	if s.Cols > 1 {
		dc = s.index(k, 0, 1) - origin
	}
	return origin, dr, dc
}

// Each calls f with every pixel of slice k: its position i in the slice
// image (row-major) and its index idx in the volume's data, row by row.
// Callers that write a slice into a volume use it rather than Voxel and
// Index per pixel.
func (s *Slicer) Each(k int, f func(i, idx int)) {
	origin, dr, dc := s.strides(k)
	i := 0
	for r := 0; r < s.Rows; r++ {
		idx := origin + r*dr
		for c := 0; c < s.Cols; c++ {
			f(i, idx)
			i++
			idx += dc
		}
	}
}

func (s *Slicer) CheckSlice(k int) error {
	if k < 0 || k >= s.Slices {
		return fmt.Errorf("slice %d outside 0..%d", k, s.Slices-1)
	}
	return nil
}

// Image returns slice k of v (which must be on the slicer's grid) as a
// Rows x Cols image, row-major.
func (s *Slicer) Image(v *volume.Volume, k int) ([]float32, error) {
	return s.ImageInto(nil, v, k)
}

// ImageInto is Image writing into dst when it has room, so that a loop
// over slices can reuse one buffer.
func (s *Slicer) ImageInto(dst []float32, v *volume.Volume, k int) ([]float32, error) {
	if err := s.CheckSlice(k); err != nil {
		return nil, err
	}
	if len(v.Data) != s.Grid.Len() {
		return nil, fmt.Errorf("volume has %d voxels, grid %v needs %d", len(v.Data), s.Grid.Dims, s.Grid.Len())
	}
	out := dst
	if cap(out) < s.Rows*s.Cols {
		out = make([]float32, s.Rows*s.Cols)
	}
	out = out[:s.Rows*s.Cols]
	origin, dr, dc := s.strides(k)
	for r := 0; r < s.Rows; r++ {
		row := out[r*s.Cols : (r+1)*s.Cols]
		idx := origin + r*dr
		for c := range row {
			row[c] = v.Data[idx]
			idx += dc
		}
	}
	return out, nil
}

// Mask returns the pixels of slice k of l that carry label value.
func (s *Slicer) Mask(l *volume.Labels, k int, value uint16) (*Mask, error) {
	if err := s.CheckSlice(k); err != nil {
		return nil, err
	}
	if len(l.Data) != s.Grid.Len() {
		return nil, fmt.Errorf("label volume has %d voxels, grid %v needs %d", len(l.Data), s.Grid.Dims, s.Grid.Len())
	}
	m := NewMask(s.Rows, s.Cols)
	s.Each(k, func(i, idx int) { m.Data[i] = l.Data[idx] == value })
	return m, nil
}

// Mask is a binary mask on a slice image, row-major.
type Mask struct {
	Rows, Cols int
	Data       []bool
}

// NewMask returns an empty rows x cols mask.
func NewMask(rows, cols int) *Mask {
	return &Mask{Rows: rows, Cols: cols, Data: make([]bool, rows*cols)}
}

// Area returns the number of set pixels.
func (m *Mask) Area() int {
	n := 0
	for _, b := range m.Data {
		if b {
			n++
		}
	}
	return n
}

// Bounds returns the smallest box holding every set pixel; ok is false for
// an empty mask.
func (m *Mask) Bounds() (b Box, ok bool) {
	b = Box{R0: m.Rows, C0: m.Cols, R1: -1, C1: -1}
	for r := 0; r < m.Rows; r++ {
		for c := 0; c < m.Cols; c++ {
			if m.Data[r*m.Cols+c] {
				b.R0, b.R1 = min(b.R0, r), max(b.R1, r)
				b.C0, b.C1 = min(b.C0, c), max(b.C1, c)
			}
		}
	}
	return b, b.R1 >= 0
}

// Box is a box on a slice image, in pixel indices, corners included.
type Box struct {
	R0, C0, R1, C1 int
}

// WriteMask sets the pixels of slice k in l to value where m is set, and
// clears the pixels that carried value where m is not set. Voxels of other
// labels are left alone: refining one organ never erases another.
func (s *Slicer) WriteMask(l *volume.Labels, k int, m *Mask, value uint16) error {
	if err := s.CheckSlice(k); err != nil {
		return err
	}
	if m.Rows != s.Rows || m.Cols != s.Cols {
		return fmt.Errorf("mask is %dx%d, slice is %dx%d", m.Rows, m.Cols, s.Rows, s.Cols)
	}
	s.Each(k, func(i, idx int) {
		switch {
		case m.Data[i] && (l.Data[idx] == 0 || l.Data[idx] == value):
			l.Data[idx] = value
		case !m.Data[i] && l.Data[idx] == value:
			l.Data[idx] = 0
		}
	})
	return nil
}

// Axis returns the voxel axis (0 = i, 1 = j, 2 = k) the slices are taken
// along.
func (s *Slicer) Axis() int { return s.sliceAxis }

// Index returns the label or volume index of pixel (r, c) of slice k.
func (s *Slicer) Index(k, r, c int) int { return s.index(k, r, c) }

// Dice returns the Dice coefficient of two masks of the same size (1 when
// both are empty).
func Dice(a, b *Mask) float64 { return metrics.Dice(a.Data, b.Data) }

// MaskOf draws a mask from rows of '#' (set) and '.' (clear), all of the
// same length: small masks in tests and examples read as pictures.
func MaskOf(rows ...string) *Mask {
	m := NewMask(len(rows), len(rows[0]))
	for r, s := range rows {
		for c, ch := range s {
			m.Data[r*m.Cols+c] = ch == '#'
		}
	}
	return m
}
