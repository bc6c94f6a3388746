package interp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/polyseg/polyseg/volume"
)

// ErrNothingToFill is returned (wrapped) by Fill when the label has no
// empty slice between two of its annotated slices.
var ErrNothingToFill = errors.New("no empty slice between annotated slices")

// Progress receives progress reports: done steps out of total and what the
// step was. It has the method set of onnxrt.Progress, so that the same
// printers serve both. Reports come from the goroutine that called Fill.
type Progress interface {
	Report(done, total int, message string)
}

// Options tune Fill.
type Options struct {
	// Axis is the voxel axis (0 i, 1 j, 2 k) the slices are perpendicular
	// to: SliceAxis gives the axis of the axial, coronal or sagittal plane.
	Axis int
	// Method is the interpolation: Linear (the default) or Cubic.
	Method Method
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
// where l has voxels of value; none for an axis other than 0, 1 or 2 or
// labels whose data do not fill their grid.
func Annotated(l *volume.Labels, axis int, value uint16) []int {
	if !valid(l, axis) {
		return nil
	}
	geo := newGeometry(l.Grid, axis)
	var out []int
	for k := 0; k < geo.slices; k++ {
		if geo.has(l, k, value) {
			out = append(out, k)
		}
	}
	return out
}

func valid(l *volume.Labels, axis int) bool {
	return axis >= 0 && axis <= 2 && volume.CheckDims(l.Dims) == nil && len(l.Data) == l.Len()
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

// Method is how the signed distance is interpolated between annotated
// slices.
type Method int

const (
	// Linear blends the maps of the two annotated slices around a gap:
	// (1−t)·A + t·B. It is ITK-SNAP's and 3D Slicer's method, and the
	// plain mode's.
	Linear Method = iota
	// Cubic interpolates each pixel's signed distance through the
	// annotated slices with a monotone piecewise cubic (Fritsch–Carlson,
	// as SciPy's PchipInterpolator), using the annotated slices on either
	// side of the gap too, so that a shape that grows fast and then levels
	// off, as an organ's cross-section does near its ends, is followed
	// better than by a straight blend. Being monotone between each pair of
	// annotated slices, it never leaves the union of the two masks either.
	Cubic
)

func (m Method) String() string {
	switch m {
	case Linear:
		return "linear"
	case Cubic:
		return "cubic"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod accepts the names String returns.
func ParseMethod(s string) (Method, error) {
	switch s {
	case "linear":
		return Linear, nil
	case "cubic":
		return Cubic, nil
	}
	return 0, fmt.Errorf("interpolation method %q: want linear or cubic", s)
}

// Between interpolates the signed distance across one gap, over the
// rectangle holding the two bounding masks and a margin.
type Between struct {
	gap    Gap
	method Method
	rect   Rect
	// pos and f: the annotated slices used, in order, and their maps; lo
	// is the index of gap.Lo among them.
	pos []int
	f   []*Field
	lo  int
}

// NewBetween prepares the interpolation across gap g between annotated
// slices (annotated: all of them, increasing). mask returns an annotated
// slice's mask; dr and dc are the pixel spacing in mm. The maps cover the
// union of the bounding boxes of g's two masks grown by margin pixels: the
// interpolated shape never leaves the two masks' union, so margin 0
// suffices for it; a caller that looks at the distance around the shape
// asks for more.
func NewBetween(annotated []int, g Gap, method Method, mask func(k int) (*Mask, error), dr, dc float64, margin int) (*Between, error) {
	lo := slices.Index(annotated, g.Lo)
	if lo < 0 || lo+1 >= len(annotated) || annotated[lo+1] != g.Hi {
		return nil, fmt.Errorf("interp: slices %d and %d are not neighbouring annotated slices", g.Lo, g.Hi)
	}
	first, last := lo, lo+1
	if method == Cubic {
		first, last = max(lo-1, 0), min(lo+2, len(annotated)-1)
	}
	b := &Between{gap: g, method: method, lo: lo - first}
	masks := make([]*Mask, 0, last-first+1)
	for n := first; n <= last; n++ {
		m, err := mask(annotated[n])
		if err != nil {
			return nil, err
		}
		masks = append(masks, m)
		b.pos = append(b.pos, annotated[n])
	}
	a, z := masks[b.lo], masks[b.lo+1]
	for _, m := range masks {
		if m.Rows != a.Rows || m.Cols != a.Cols || len(m.Data) != m.Rows*m.Cols {
			return nil, fmt.Errorf("interp: masks of %d×%d and %d×%d pixels", a.Rows, a.Cols, m.Rows, m.Cols)
		}
	}
	b.rect = a.Bounds().Union(z.Bounds()).Grow(margin, a.Rows, a.Cols)
	// A mask filling its whole slice has infinite distances inside; a
	// finite bound beyond any real distance keeps the arithmetic finite.
	far := math.Hypot(float64(a.Rows)*dr, float64(a.Cols)*dc) + dr + dc
	for _, m := range masks {
		f, err := SignedDistance(m, dr, dc, b.rect)
		if err != nil {
			return nil, err
		}
		for i, d := range f.D {
			f.D[i] = min(max(d, -far), far)
		}
		b.f = append(b.f, f)
	}
	return b, nil
}

// Ends returns the maps of the two annotated slices around the gap, over
// Rect: how much they differ at a pixel says how much the shape changes
// there across the gap, and so how far an interpolation can be off.
func (b *Between) Ends() (lo, hi *Field) { return b.f[b.lo], b.f[b.lo+1] }

// Rect returns the rectangle the interpolated maps cover.
func (b *Between) Rect() Rect { return b.rect }

// At returns the interpolated map on slice k (Lo < k < Hi), reusing dst
// when it is large enough.
func (b *Between) At(k int, dst *Field) *Field {
	n := len(b.f[0].D)
	if dst == nil || cap(dst.D) < n {
		dst = &Field{D: make([]float64, n)}
	}
	dst.Rect, dst.D = b.rect, dst.D[:n]
	A, B := b.f[b.lo].D, b.f[b.lo+1].D
	x0, x1 := float64(b.pos[b.lo]), float64(b.pos[b.lo+1])
	h := x1 - x0
	t := (float64(k) - x0) / h
	if b.method != Cubic || len(b.f) == 2 {
		for i, a := range A {
			dst.D[i] = (1-t)*a + t*B[i]
		}
		return dst
	}
	// Hermite basis on [x0, x1].
	t2, t3 := t*t, t*t*t
	h00, h10, h01, h11 := 2*t3-3*t2+1, t3-2*t2+t, -2*t3+3*t2, t3-t2
	var P, N []float64 // the maps before and after the gap, if any
	var xp, xn float64
	if b.lo > 0 {
		P, xp = b.f[b.lo-1].D, float64(b.pos[b.lo-1])
	}
	if b.lo+2 < len(b.f) {
		N, xn = b.f[b.lo+2].D, float64(b.pos[b.lo+2])
	}
	for i, a := range A {
		z := B[i]
		s := (z - a) / h // the secant across the gap
		var d0, d1 float64
		switch {
		case P != nil:
			d0 = pchipSlope(x0-xp, h, (a-P[i])/(x0-xp), s)
		default: // Gap.Lo is the first annotated slice: N exists.
			hn := xn - x1
			d0 = pchipEnd(h, hn, s, (N[i]-z)/hn)
		}
		switch {
		case N != nil:
			d1 = pchipSlope(h, xn-x1, s, (N[i]-z)/(xn-x1))
		default: // Gap.Hi is the last annotated slice: P exists.
			hp := x0 - xp
			d1 = pchipEnd(h, hp, s, (a-P[i])/hp)
		}
		dst.D[i] = h00*a + h10*h*d0 + h01*z + h11*h*d1
	}
	return dst
}

// pchipSlope is the Fritsch–Carlson slope at a node between intervals of
// widths h0 and h1 with secants s0 and s1: zero at a local extremum, else a
// weighted harmonic mean, which keeps the cubic monotone on both sides.
func pchipSlope(h0, h1, s0, s1 float64) float64 {
	if s0*s1 <= 0 {
		return 0
	}
	w1, w2 := 2*h1+h0, h1+2*h0
	return (w1 + w2) / (w1/s0 + w2/s1)
}

// pchipEnd is the slope at an end node: a three-point estimate (h0, s0 the
// end interval's width and secant, h1, s1 the next one's), limited so as to
// keep the cubic monotone, as SciPy's PchipInterpolator does.
func pchipEnd(h0, h1, s0, s1 float64) float64 {
	d := ((2*h0+h1)*s0 - h0*s1) / (h0 + h1)
	switch {
	case math.Signbit(d) != math.Signbit(s0) || d == 0 && s0 != 0:
		return 0
	case math.Signbit(s0) != math.Signbit(s1) && math.Abs(d) > 3*math.Abs(s0):
		return 3 * s0
	}
	return d
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
	if opts.Method != Linear && opts.Method != Cubic {
		return nil, fmt.Errorf("interp: unknown method %v", opts.Method)
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
	mask := func(k int) (*Mask, error) { return geo.mask(l, k, value), nil }
	for range min(runtime.GOMAXPROCS(0), len(gaps)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range next {
				added, blocked, err := fillGap(ctx, res.Labels, geo, res.Annotated, g, opts.Method, mask, value)
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
func fillGap(ctx context.Context, out *volume.Labels, geo geometry, annotated []int, g Gap, method Method, mask func(int) (*Mask, error), value uint16) (added, blocked int, err error) {
	b, err := NewBetween(annotated, g, method, mask, geo.dr, geo.dc, 0)
	if err != nil {
		return 0, 0, err
	}
	var f *Field
	w := b.Rect().Cols()
	for k := g.Lo + 1; k < g.Hi; k++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		f = b.At(k, f)
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
// of docs/interpolation.md. Invalid input (see Annotated) gives no label.
func Sparse(l *volume.Labels, value uint16, axis, step int) *volume.Labels {
	if !valid(l, axis) {
		return &volume.Labels{Grid: l.Grid, Data: make([]uint16, len(l.Data))}
	}
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
