package interp

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/polyseg/polyseg/volume"
)

// ErrNothingToFill is returned (wrapped) by Fill when the label has no
// empty slice between two of its annotated slices.
var ErrNothingToFill = errors.New("no empty slice between annotated slices")

// Progress receives progress reports: done steps out of total and what the
// step was. It has the method set of inference.Progress, so that the same
// printers serve both. Reports come from the goroutine that called Fill.
type Progress interface {
	Report(done, total int, message string)
}

// Options tune Fill.
type Options struct {
	// Axis is the voxel axis (0 i, 1 j, 2 k) the slices are perpendicular
	// to: SliceAxis gives the axis of the axial, coronal or sagittal plane.
	Axis int
	// Progress, if not nil, hears about every gap filled.
	Progress Progress
}

// Result is what Fill made.
type Result struct {
	// Labels is a copy of the input in which the slices between annotated
	// slices carry the interpolated label.
	Labels *volume.Labels
	Value  uint16
	Axis   int
	// Annotated lists the slices where the label had voxels; Filled the
	// slices between them that had none, which Fill decided. Both are in
	// increasing order.
	Annotated, Filled []int
	// Added counts the voxels given the label; Blocked those the
	// interpolation put inside the label but another label holds, which
	// were left alone.
	Added, Blocked int
}

// SliceAxis returns the voxel axis of g closest to world axis w (0 x, 1 y,
// 2 z of RAS+): the axis the sagittal, coronal or axial slices are
// perpendicular to. For an oblique grid it is the nearest one, as the
// viewer shows it.
func SliceAxis(g volume.Grid, w int) int {
	world, _ := g.Affine.Axes()
	for c, x := range world {
		if x == w {
			return c
		}
	}
	return 2
}

// Annotated lists, in increasing order, the slices perpendicular to axis
// where l has voxels of value.
func Annotated(l *volume.Labels, axis int, value uint16) []int {
	geo := newGeometry(l.Grid, axis)
	var out []int
	for k := 0; k < geo.slices; k++ {
		if geo.has(l, k, value) {
			out = append(out, k)
		}
	}
	return out
}

// Gap is a run of slices without the label between two annotated slices
// Lo and Hi (Hi > Lo+1).
type Gap struct{ Lo, Hi int }

// Gaps returns the gaps between the annotated slices (increasing order).
func Gaps(annotated []int) []Gap {
	var g []Gap
	for n := 1; n < len(annotated); n++ {
		if annotated[n] > annotated[n-1]+1 {
			g = append(g, Gap{annotated[n-1], annotated[n]})
		}
	}
	return g
}

// Pair holds the signed distance maps of the two annotated slices that
// bound a gap, over one rectangle.
type Pair struct {
	A, B       *Field
	rows, cols int
}

// NewPair computes the signed distance maps of masks a and b (same size;
// pixels dr × dc mm) over the union of their bounding boxes grown by margin
// pixels. The interpolated shape never leaves the union of the two masks,
// so margin 0 suffices for it; a caller that looks at the distance around
// the shape asks for more.
func NewPair(a, b *Mask, dr, dc float64, margin int) (*Pair, error) {
	if a.Rows != b.Rows || a.Cols != b.Cols {
		return nil, fmt.Errorf("interp: masks of %d×%d and %d×%d pixels", a.Rows, a.Cols, b.Rows, b.Cols)
	}
	r := a.Bounds().Union(b.Bounds()).Grow(margin, a.Rows, a.Cols)
	fa, err := SignedDistance(a, dr, dc, r)
	if err != nil {
		return nil, err
	}
	fb, err := SignedDistance(b, dr, dc, r)
	if err != nil {
		return nil, err
	}
	return &Pair{A: fa, B: fb, rows: a.Rows, cols: a.Cols}, nil
}

// At returns the blended map (1−t)·A + t·B: t = 0 is slice Lo, t = 1 slice
// Hi, a slice between them t = (k−Lo)/(Hi−Lo). dst is reused when large
// enough.
func (p *Pair) At(t float64, dst *Field) *Field {
	n := len(p.A.D)
	if dst == nil || cap(dst.D) < n {
		dst = &Field{D: make([]float64, n)}
	}
	dst.Rect, dst.D = p.A.Rect, dst.D[:n]
	for i, a := range p.A.D {
		dst.D[i] = (1-t)*a + t*p.B.D[i]
	}
	return dst
}

// Mask returns the pixels where f is negative, on a rows × cols image.
func (f *Field) Mask(rows, cols int) *Mask {
	m := NewMask(rows, cols)
	w := f.Rect.Cols()
	for i, d := range f.D {
		if d < 0 {
			m.Data[(f.Rect.R0+i/w)*cols+f.Rect.C0+i%w] = true
		}
	}
	return m
}

// Fill interpolates label value of l across the slices perpendicular to
// opts.Axis that lie between two annotated slices, by shape-based
// interpolation of the signed distance maps (see the package
// documentation). l is not modified.
func Fill(ctx context.Context, l *volume.Labels, value uint16, opts Options) (*Result, error) {
	if value == 0 {
		return nil, errors.New("interp: fill the background? choose a label value other than 0")
	}
	if opts.Axis < 0 || opts.Axis > 2 {
		return nil, fmt.Errorf("interp: slice axis %d is not 0, 1 or 2", opts.Axis)
	}
	if err := volume.CheckDims(l.Dims); err != nil {
		return nil, err
	}
	if len(l.Data) != l.Len() {
		return nil, fmt.Errorf("interp: label volume has %d voxels for dimensions %v", len(l.Data), l.Dims)
	}
	res := &Result{Value: value, Axis: opts.Axis, Annotated: Annotated(l, opts.Axis, value)}
	if len(res.Annotated) == 0 {
		return nil, fmt.Errorf("label %d has no voxels", value)
	}
	gaps := Gaps(res.Annotated)
	if len(gaps) == 0 {
		return nil, fmt.Errorf("label %d, slices %d to %d: %w", value, res.Annotated[0], res.Annotated[len(res.Annotated)-1], ErrNothingToFill)
	}
	res.Labels = &volume.Labels{Grid: l.Grid, Data: slices.Clone(l.Data)}
	geo := newGeometry(l.Grid, opts.Axis)
	for _, g := range gaps {
		for k := g.Lo + 1; k < g.Hi; k++ {
			res.Filled = append(res.Filled, k)
		}
	}
	type done struct {
		added, blocked int
		err            error
	}
	// Gaps write disjoint slices, so they run in parallel on one copy.
	results := make(chan done)
	next := make(chan Gap)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(gaps)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range next {
				a, b := geo.mask(l, g.Lo, value), geo.mask(l, g.Hi, value)
				added, blocked, err := fillGap(ctx, res.Labels, geo, g, a, b, value)
				results <- done{added, blocked, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for _, g := range gaps {
			select {
			case next <- g:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var firstErr error
	n := 0
	for d := range results {
		n++
		if d.err != nil && firstErr == nil {
			firstErr = d.err
			cancel()
		}
		res.Added += d.added
		res.Blocked += d.blocked
		if opts.Progress != nil && firstErr == nil {
			opts.Progress.Report(n, len(gaps), fmt.Sprintf("gap %d of %d", n, len(gaps)))
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return res, nil
}

// fillGap writes the interpolated slices of one gap into out.
func fillGap(ctx context.Context, out *volume.Labels, geo geometry, g Gap, a, b *Mask, value uint16) (added, blocked int, err error) {
	p, err := NewPair(a, b, geo.dr, geo.dc, 0)
	if err != nil {
		return 0, 0, err
	}
	var f *Field
	w := p.A.Rect.Cols()
	for k := g.Lo + 1; k < g.Hi; k++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		f = p.At(float64(k-g.Lo)/float64(g.Hi-g.Lo), f)
		for i, d := range f.D {
			if d >= 0 {
				continue
			}
			idx := geo.index(k, f.Rect.R0+i/w, f.Rect.C0+i%w)
			switch out.Data[idx] {
			case 0:
				out.Data[idx] = value
				added++
			case value:
			default:
				blocked++
			}
		}
	}
	return added, blocked, nil
}

// geometry maps slice k, row r and column c of the slices perpendicular to
// one voxel axis to data indices. Rows run along the slower of the other two
// axes, columns along the faster, so that axial slices of a usual volume
// are read in storage order; the distance transform does not care which
// way a slice is turned, only about the pixel spacing.
type geometry struct {
	slices, rows, cols int
	dr, dc             float64
	ks, rs, cs         int // data strides of slice, row and column
}

func newGeometry(g volume.Grid, axis int) geometry {
	stride := [3]int{1, g.Dims[0], g.Dims[0] * g.Dims[1]}
	sp := g.Spacing()
	var ra, ca int
	switch axis {
	case 0:
		ra, ca = 2, 1
	case 1:
		ra, ca = 2, 0
	default:
		ra, ca = 1, 0
	}
	return geometry{
		slices: g.Dims[axis], rows: g.Dims[ra], cols: g.Dims[ca],
		dr: sp[ra], dc: sp[ca],
		ks: stride[axis], rs: stride[ra], cs: stride[ca],
	}
}

func (g geometry) index(k, r, c int) int { return k*g.ks + r*g.rs + c*g.cs }

// has reports whether slice k holds label value.
func (g geometry) has(l *volume.Labels, k int, value uint16) bool {
	for r := 0; r < g.rows; r++ {
		base := k*g.ks + r*g.rs
		for c := 0; c < g.cols; c++ {
			if l.Data[base+c*g.cs] == value {
				return true
			}
		}
	}
	return false
}

// mask returns slice k's pixels of label value.
func (g geometry) mask(l *volume.Labels, k int, value uint16) *Mask {
	m := NewMask(g.rows, g.cols)
	for r := 0; r < g.rows; r++ {
		base := k*g.ks + r*g.rs
		for c := 0; c < g.cols; c++ {
			m.Data[r*g.cols+c] = l.Data[base+c*g.cs] == value
		}
	}
	return m
}

// Sparse returns a label volume holding only value's voxels on every
// step-th of its slices perpendicular to axis, counted from its first
// slice, and on its last slice: what an annotator who draws every step-th
// slice, and the organ's ends, gives Fill. It is the evaluation protocol
// of docs/interpolation.md.
func Sparse(l *volume.Labels, value uint16, axis, step int) *volume.Labels {
	out := volume.NewLabels(l.Grid)
	ann := Annotated(l, axis, value)
	if len(ann) == 0 || step < 1 {
		return out
	}
	keep := make([]bool, l.Dims[axis])
	for k := ann[0]; k <= ann[len(ann)-1]; k += step {
		keep[k] = true
	}
	keep[ann[len(ann)-1]] = true
	nx, ny := l.Dims[0], l.Dims[1]
	for idx, x := range l.Data {
		if x == value {
			v := [3]int{idx % nx, idx / nx % ny, idx / (nx * ny)}
			if keep[v[axis]] {
				out.Data[idx] = value
			}
		}
	}
	return out
}
