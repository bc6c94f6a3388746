package interp

import (
	"fmt"
	"math"

	"github.com/polyseg/polyseg/metrics"
)

// Mask is a binary image, row-major: pixel (r, c) is Data[r*Cols+c].
type Mask struct {
	Rows, Cols int
	Data       []bool
}

// NewMask returns an empty rows × cols mask.
func NewMask(rows, cols int) *Mask {
	return &Mask{Rows: rows, Cols: cols, Data: make([]bool, rows*cols)}
}

// Rect is a rectangle of pixels: rows R0 ≤ r < R1, columns C0 ≤ c < C1.
type Rect struct{ R0, C0, R1, C1 int }

// Empty reports whether r holds no pixel.
func (r Rect) Empty() bool { return r.R0 >= r.R1 || r.C0 >= r.C1 }

// Rows and Cols give the size of r.
func (r Rect) Rows() int { return r.R1 - r.R0 }
func (r Rect) Cols() int { return r.C1 - r.C0 }

// Union returns the smallest rectangle holding r and o; an empty one adds
// nothing.
func (r Rect) Union(o Rect) Rect {
	switch {
	case r.Empty():
		return o
	case o.Empty():
		return r
	}
	return Rect{min(r.R0, o.R0), min(r.C0, o.C0), max(r.R1, o.R1), max(r.C1, o.C1)}
}

// Grow returns r widened by n pixels on every side and clipped to a
// rows × cols image.
func (r Rect) Grow(n, rows, cols int) Rect {
	if r.Empty() {
		return r
	}
	return Rect{max(r.R0-n, 0), max(r.C0-n, 0), min(r.R1+n, rows), min(r.C1+n, cols)}
}

// Bounds returns the smallest rectangle holding every set pixel of m; it is
// empty for an empty mask.
func (m *Mask) Bounds() Rect {
	b := Rect{R0: m.Rows, C0: m.Cols}
	for r := 0; r < m.Rows; r++ {
		row := m.Data[r*m.Cols : (r+1)*m.Cols]
		c0 := -1
		for c, on := range row {
			if on {
				c0 = c
				break
			}
		}
		if c0 < 0 {
			continue
		}
		c1 := c0
		for c := m.Cols - 1; c > c0; c-- {
			if row[c] {
				c1 = c
				break
			}
		}
		b.R0, b.R1 = min(b.R0, r), max(b.R1, r+1)
		b.C0, b.C1 = min(b.C0, c0), max(b.C1, c1+1)
	}
	if b.R1 == 0 {
		return Rect{}
	}
	return b
}

// Field is a signed distance map over a rectangle of a slice: D[(r-R0)*w +
// (c-C0)] for pixel (r, c) of Rect, w its width. Pixels outside Rect are
// outside the shape, farther than any distance in D.
type Field struct {
	Rect Rect
	D    []float64
}

// At returns the signed distance at pixel (r, c), +Inf outside the Rect.
func (f *Field) At(r, c int) float64 {
	if r < f.Rect.R0 || r >= f.Rect.R1 || c < f.Rect.C0 || c >= f.Rect.C1 {
		return math.Inf(1)
	}
	return f.D[(r-f.Rect.R0)*f.Rect.Cols()+c-f.Rect.C0]
}

// SignedDistance returns the signed Euclidean distance map of m over the
// rectangle within, in millimetres for pixels dr mm apart down a column and
// dc mm apart along a row: for a pixel inside the mask, minus the distance
// to the nearest pixel outside it; for a pixel outside, the distance to the
// nearest pixel inside. No pixel has distance 0, so "inside" is exactly
// "negative". Distances are to pixels of the image only, as SciPy's
// distance_transform_edt measures them; a mask that fills the whole image
// has -Inf inside, an empty one +Inf everywhere.
//
// The values are exact whatever within is: the transform runs over within
// grown to hold the mask's bounding box and a one-pixel margin, which is
// all it needs (the nearest outside pixel of an inside pixel is never
// farther than that margin's).
func SignedDistance(m *Mask, dr, dc float64, within Rect) (*Field, error) {
	if m.Rows <= 0 || m.Cols <= 0 || len(m.Data) != m.Rows*m.Cols {
		return nil, fmt.Errorf("interp: mask of %d pixels is not %d×%d", len(m.Data), m.Rows, m.Cols)
	}
	if !(dr > 0) || !(dc > 0) || math.IsInf(dr, 0) || math.IsInf(dc, 0) {
		return nil, fmt.Errorf("interp: pixel spacing %g × %g mm must be positive and finite", dr, dc)
	}
	within.R0, within.C0 = max(within.R0, 0), max(within.C0, 0)
	within.R1, within.C1 = min(within.R1, m.Rows), min(within.C1, m.Cols)
	out := &Field{Rect: within}
	if within.Empty() {
		return out, nil
	}
	b := m.Bounds()
	work := within.Union(b.Grow(1, m.Rows, m.Cols))
	w, h := work.Cols(), work.Rows()
	in := make([]float64, w*h)   // squared distance to the nearest inside pixel
	outD := make([]float64, w*h) // squared distance to the nearest outside pixel
	inside := make([]bool, w*h)
	for r := 0; r < h; r++ {
		copy(inside[r*w:(r+1)*w], m.Data[(r+work.R0)*m.Cols+work.C0:(r+work.R0)*m.Cols+work.C1])
	}
	var s scratch
	s.squaredEDT(in, inside, true, h, w, dr, dc)
	s.squaredEDT(outD, inside, false, h, w, dr, dc)
	out.D = make([]float64, within.Rows()*within.Cols())
	ow := within.Cols()
	for r := within.R0; r < within.R1; r++ {
		for c := within.C0; c < within.C1; c++ {
			i := (r-work.R0)*w + c - work.C0
			var d float64
			if inside[i] {
				d = -math.Sqrt(outD[i])
			} else {
				d = math.Sqrt(in[i])
			}
			out.D[(r-within.R0)*ow+c-within.C0] = d
		}
	}
	return out, nil
}

// scratch holds the buffers of the one-dimensional transforms, reused
// across rows and columns.
type scratch struct {
	f, d []float64
	v    []int
	z    []float64
}

func (s *scratch) grow(n int) {
	if cap(s.f) < n {
		s.f = make([]float64, n)
		s.d = make([]float64, n)
		s.v = make([]int, n)
		s.z = make([]float64, n+1)
	}
	s.f, s.d, s.v, s.z = s.f[:n], s.d[:n], s.v[:n], s.z[:n+1]
}

// squaredEDT writes into dst (h × w, row-major) the squared distance in mm²
// from each pixel to the nearest pixel whose mask value equals feature, or
// +Inf when there is none. Separable: exact distances down each column
// first, then the lower envelope of parabolas along each row.
func (s *scratch) squaredEDT(dst []float64, mask []bool, feature bool, h, w int, dr, dc float64) {
	inf := math.Inf(1)
	// Columns: with features at distance 0 and the rest unknown, the 1-D
	// transform is the distance to the nearest feature above or below.
	for c := 0; c < w; c++ {
		last := -1
		for r := 0; r < h; r++ {
			i := r*w + c
			if mask[i] == feature {
				last = r
				dst[i] = 0
			} else if last >= 0 {
				dst[i] = float64(r - last)
			} else {
				dst[i] = inf
			}
		}
		last = -1
		for r := h - 1; r >= 0; r-- {
			i := r*w + c
			if mask[i] == feature {
				last = r
			} else if last >= 0 {
				dst[i] = min(dst[i], float64(last-r))
			}
			if x := dst[i]; !math.IsInf(x, 1) {
				dst[i] = x * x * dr * dr
			}
		}
	}
	// Rows: the general 1-D transform of the column results.
	s.grow(w)
	for r := 0; r < h; r++ {
		row := dst[r*w : (r+1)*w]
		copy(s.f, row)
		s.transform1D(row, dc*dc)
	}
}

// transform1D replaces row (whose values are s.f) by its 1-D squared
// distance transform with squared spacing s2 (metrics.Envelope).
func (s *scratch) transform1D(row []float64, s2 float64) {
	metrics.Envelope(s.f, row, s.v, s.z, s2)
}
