package mesh

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/polyseg/polyseg/internal/parallel"
	"github.com/polyseg/polyseg/volume"
)

// Options controls the surface made of a segment. The zero value gives
// the plain marching-cubes surface, on every core.
type Options struct {
	// Smooth is the number of Taubin smoothing iterations (each a
	// shrinking and an inflating step); 0 keeps the marching-cubes surface.
	Smooth int
	// Decimate is the fraction of triangles to keep, in (0, 1]; 0 and 1
	// keep them all.
	Decimate float64
	// Workers bounds the goroutines; 0 means GOMAXPROCS.
	Workers int
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Check validates the options before any work.
func (o Options) Check() error {
	if o.Smooth < 0 || o.Smooth > MaxSmooth {
		return fmt.Errorf("smoothing iterations %d: want 0 to %d", o.Smooth, MaxSmooth)
	}
	if !(o.Decimate >= 0 && o.Decimate <= 1) {
		return fmt.Errorf("decimation ratio %g: want a fraction of the triangles to keep, above 0 and at most 1", o.Decimate)
	}
	return nil
}

// MaxSmooth bounds Options.Smooth: past a few hundred iterations even a
// non-shrinking filter wears the shape away, and the work grows with it.
const MaxSmooth = 500

// Box is a box of voxel indices, Min inclusive and Max exclusive.
type Box struct {
	Min, Max [3]int
}

// Extractor makes surfaces and keeps its buffers between calls, so that
// re-meshing a segment after an edit allocates little. It is not safe for
// concurrent use; the zero value is ready.
type Extractor struct {
	mask         []uint8
	rowLo, rowHi []int32
	slabs        []*slab
}

// Extract returns the closed surface of the voxels of l holding label, in
// world coordinates (RAS+, mm), smoothed and decimated as opt says. It
// returns an error wrapping ErrNoVoxels when no voxel holds the label.
func Extract(ctx context.Context, l *volume.Labels, label uint16, opt Options) (*Mesh, error) {
	var x Extractor
	return x.Extract(ctx, l, label, opt)
}

// Extract is the package's Extract with x's buffers.
func (x *Extractor) Extract(ctx context.Context, l *volume.Labels, label uint16, opt Options) (*Mesh, error) {
	if err := opt.Check(); err != nil {
		return nil, err
	}
	if err := checkLabels(l); err != nil {
		return nil, err
	}
	st, err := census(ctx, l, []uint16{label}, opt.workers())
	if err != nil {
		return nil, err
	}
	if st[0].voxels == 0 {
		return nil, fmt.Errorf("label %d: %w", label, ErrNoVoxels)
	}
	return x.extractBox(ctx, l, label, st[0].box, opt)
}

// ExtractBox is Extract for a label known to lie inside box (a cached
// bounding box grown by the edit's own box, say), which spares the scan of
// the whole volume for it. Voxels of the label outside box are ignored.
func (x *Extractor) ExtractBox(ctx context.Context, l *volume.Labels, label uint16, box Box, opt Options) (*Mesh, error) {
	if err := opt.Check(); err != nil {
		return nil, err
	}
	if err := checkLabels(l); err != nil {
		return nil, err
	}
	for a := range 3 {
		box.Min[a] = max(box.Min[a], 0)
		box.Max[a] = min(box.Max[a], l.Dims[a])
		if box.Max[a] <= box.Min[a] {
			return nil, fmt.Errorf("label %d: %w in box %v", label, ErrNoVoxels, box)
		}
	}
	return x.extractBox(ctx, l, label, box, opt)
}

// ExtractAll returns one surface per label, in the order given; labels nil
// means every label present, in increasing order. A label without voxels
// is an error naming it.
func ExtractAll(ctx context.Context, l *volume.Labels, labels []uint16, opt Options) ([]*Mesh, error) {
	if err := opt.Check(); err != nil {
		return nil, err
	}
	if err := checkLabels(l); err != nil {
		return nil, err
	}
	if labels == nil {
		labels = l.Present()
	}
	st, err := census(ctx, l, labels, opt.workers())
	if err != nil {
		return nil, err
	}
	var x Extractor
	out := make([]*Mesh, len(labels))
	for n, v := range labels {
		if st[n].voxels == 0 {
			return nil, fmt.Errorf("label %d: %w", v, ErrNoVoxels)
		}
		if out[n], err = x.extractBox(ctx, l, v, st[n].box, opt); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkLabels(l *volume.Labels) error {
	if l == nil {
		return fmt.Errorf("no label volume")
	}
	if err := volume.CheckDims(l.Dims); err != nil {
		return err
	}
	if len(l.Data) != l.Len() {
		return fmt.Errorf("label volume has %d voxels for a %dx%dx%d grid", len(l.Data), l.Dims[0], l.Dims[1], l.Dims[2])
	}
	if _, err := l.Affine.Inverse(); err != nil {
		return fmt.Errorf("label volume: %w", err)
	}
	return nil
}

func (x *Extractor) extractBox(ctx context.Context, l *volume.Labels, label uint16, box Box, opt Options) (*Mesh, error) {
	f := x.field(l, label, box)
	raw, err := x.surface(ctx, f, opt.workers())
	if err != nil {
		return nil, err
	}
	if len(raw.tris) == 0 {
		return nil, fmt.Errorf("label %d: %w in box %v", label, ErrNoVoxels, box)
	}
	m := raw.toWorld(f, l.Affine)
	m.Label = label
	if opt.Smooth > 0 {
		m.smooth(opt.Smooth, opt.workers())
	}
	if opt.Decimate > 0 && opt.Decimate < 1 {
		if err := m.Decimate(ctx, opt.Decimate); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// field is a binary mask of one label on its bounding box, padded by one
// outside voxel on every side so that the surface closes at the grid's
// border. Voxel (i, j, k) of the field is voxel lo + (i, j, k) − 1 of the
// label volume.
type field struct {
	n  [3]int
	lo [3]int
	m  []uint8
	// rowLo and rowHi give, per row (j, k), the first and last i holding
	// the label; an empty row has rowLo > rowHi.
	rowLo, rowHi []int32
}

func (x *Extractor) field(l *volume.Labels, label uint16, b Box) *field {
	f := &field{lo: b.Min}
	for a := range 3 {
		f.n[a] = b.Max[a] - b.Min[a] + 2
	}
	nx, ny, nz := f.n[0], f.n[1], f.n[2]
	x.mask = grow(x.mask, nx*ny*nz)
	x.rowLo = grow(x.rowLo, ny*nz)
	x.rowHi = grow(x.rowHi, ny*nz)
	f.m, f.rowLo, f.rowHi = x.mask, x.rowLo, x.rowHi
	clear(f.m)
	for r := range f.rowLo {
		f.rowLo[r], f.rowHi[r] = int32(nx), -1
	}
	w := b.Max[0] - b.Min[0]
	for k := 1; k < nz-1; k++ {
		for j := 1; j < ny-1; j++ {
			src := l.Data[l.Index(b.Min[0], b.Min[1]+j-1, b.Min[2]+k-1):][:w]
			r := j + k*ny
			dst := f.m[r*nx+1:][:w]
			lo, hi := int32(nx), int32(-1)
			for i, v := range src {
				if v == label {
					dst[i] = 1
					hi = int32(i + 1)
					if lo > hi {
						lo = hi
					}
				}
			}
			f.rowLo[r], f.rowHi[r] = lo, hi
		}
	}
	return f
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// rawMesh is a surface in the field's voxel coordinates.
type rawMesh struct {
	verts [][3]float32
	tris  [][3]uint32
}

// toWorld maps a field's surface into world coordinates. An affine that
// mirrors (negative determinant: an LAS grid, say) would turn the
// triangles inside out, so their order is reversed then.
func (r *rawMesh) toWorld(f *field, a volume.Affine) *Mesh {
	m := &Mesh{Vertices: make([][3]float32, len(r.verts)), Triangles: r.tris}
	off := [3]float64{float64(f.lo[0] - 1), float64(f.lo[1] - 1), float64(f.lo[2] - 1)}
	for n, p := range r.verts {
		x, y, z := a.Apply(float64(p[0])+off[0], float64(p[1])+off[1], float64(p[2])+off[2])
		m.Vertices[n] = [3]float32{float32(x), float32(y), float32(z)}
	}
	if det3(a) < 0 {
		for n, t := range m.Triangles {
			m.Triangles[n] = [3]uint32{t[0], t[2], t[1]}
		}
	}
	return m
}

func det3(a volume.Affine) float64 {
	return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
}

// slab makes the surface of the cube layers [c0, c1) of a field. It owns
// the vertices on its cube edges but the x and y edges of point layer c1,
// which belong to the next slab: triangles refer to those by a negative
// code, resolved when the slabs are joined. The last slab's top layer is
// padding, where no edge is cut.
type slab struct {
	c0, c1 int
	last   bool
	verts  [][3]float32
	tris   [][3]int32
	// bottom holds the vertex ids of the x and y edges of point layer c0,
	// which the previous slab looks up.
	bottom [2][]int32
	buf    [2][2][]int32
	z      []int32
}

// edgeLoc says where a cube edge's vertex id is kept: kind 0 and 1 are the
// x and y edges of the cube's lower point layer, 2 and 3 those of the
// upper one, 4 the z edges; off is the offset from the cube's (i, j)
// position in the layer.
type edgeLoc struct {
	kind int
	di   int
	dj   int
	mid  [3]float32 // the edge's midpoint in the unit cube
}

func edgeLocs() [12]edgeLoc {
	var locs [12]edgeLoc
	for e := range 12 {
		a, _ := edgeCorners(e)
		c := corner(a)
		m := edgeMid(e)
		l := edgeLoc{di: c[0], dj: c[1], mid: [3]float32{float32(m[0] / 2), float32(m[1] / 2), float32(m[2] / 2)}}
		switch axis := e / 4; axis {
		case 0, 1:
			l.kind = axis + 2*c[2]
		case 2:
			l.kind = 4
		}
		locs[e] = l
	}
	return locs
}

// spread places the four bits of a column of corners (bit 0: y0 z0, 1: y1
// z0, 2: y0 z1, 3: y1 z1) at their corner numbers for x = 0.
var spread = func() (s [16]uint8) {
	for c := range 16 {
		s[c] = uint8(c&1 | (c>>1&1)<<2 | (c>>2&1)<<4 | (c>>3&1)<<6)
	}
	return s
}()

func (s *slab) run(f *field, tab *[256]mcCase, locs *[12]edgeLoc) {
	nx, ny := f.n[0], f.n[1]
	nxy := nx * ny
	s.verts, s.tris = s.verts[:0], s.tris[:0]
	for b := range 2 {
		s.bottom[b] = fillNeg(grow(s.bottom[b], nxy))
		s.buf[0][b] = grow(s.buf[0][b], nxy)
		s.buf[1][b] = grow(s.buf[1][b], nxy)
	}
	s.z = grow(s.z, nxy)
	var slots [12]int32
	for k := s.c0; k < s.c1; k++ {
		t := k - s.c0
		cur := s.bottom
		if t > 0 {
			cur = s.buf[(t-1)%2]
		}
		nxt := s.buf[t%2]
		foreign := k+1 == s.c1 && !s.last
		if !foreign {
			fillNeg(nxt[0])
			fillNeg(nxt[1])
		}
		fillNeg(s.z)
		arrs := [5][]int32{cur[0], cur[1], nxt[0], nxt[1], s.z}
		for j := 0; j < ny-1; j++ {
			r0, r1 := j+k*ny, j+1+k*ny
			r2, r3 := r0+ny, r1+ny
			lo := min(f.rowLo[r0], f.rowLo[r1], f.rowLo[r2], f.rowLo[r3]) - 1
			hi := max(f.rowHi[r0], f.rowHi[r1], f.rowHi[r2], f.rowHi[r3])
			if hi < 0 {
				continue
			}
			lo = max(lo, 0)
			hi = min(hi, int32(nx-2))
			m00, m10 := f.m[r0*nx:][:nx], f.m[r1*nx:][:nx]
			m01, m11 := f.m[r2*nx:][:nx], f.m[r3*nx:][:nx]
			col := func(i int32) uint8 { return spread[m00[i]|m10[i]<<1|m01[i]<<2|m11[i]<<3] }
			prev := col(lo)
			for i := lo; i <= hi; i++ {
				nc := col(i + 1)
				cs := prev | nc<<1
				prev = nc
				if cs == 0 || cs == 255 {
					continue
				}
				c := &tab[cs]
				base := j*nx + int(i)
				fi, fj, fk := float32(i), float32(j), float32(k)
				for _, e := range c.edges {
					l := &locs[e]
					idx := base + l.dj*nx + l.di
					if foreign && (l.kind == 2 || l.kind == 3) {
						slots[e] = int32(-1 - ((l.kind-2)*nxy + idx))
						continue
					}
					arr := arrs[l.kind]
					id := arr[idx]
					if id < 0 {
						id = int32(len(s.verts))
						s.verts = append(s.verts, [3]float32{fi + l.mid[0], fj + l.mid[1], fk + l.mid[2]})
						arr[idx] = id
					}
					slots[e] = id
				}
				for _, tr := range c.tris {
					s.tris = append(s.tris, [3]int32{slots[tr[0]], slots[tr[1]], slots[tr[2]]})
				}
			}
		}
	}
}

func fillNeg(s []int32) []int32 {
	for i := range s {
		s[i] = -1
	}
	return s
}

// surface runs marching cubes over f in slabs of cube layers, several at
// once, and joins them.
func (x *Extractor) surface(ctx context.Context, f *field, workers int) (*rawMesh, error) {
	tab := mcTable()
	locs := edgeLocs()
	layers := f.n[2] - 1
	// A few slabs per worker even out uneven layers; each costs two
	// layers of ids.
	ns := min(layers, 4*workers)
	for len(x.slabs) < ns {
		x.slabs = append(x.slabs, new(slab))
	}
	slabs := x.slabs[:ns]
	for n, s := range slabs {
		s.c0, s.c1 = n*layers/ns, (n+1)*layers/ns
		s.last = n == ns-1
	}
	parallel.For(ns, workers, func(n int) {
		if ctx.Err() == nil {
			slabs[n].run(f, tab, &locs)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	offs := make([]int, ns+1)
	toff := make([]int, ns+1)
	for n, s := range slabs {
		offs[n+1] = offs[n] + len(s.verts)
		toff[n+1] = toff[n] + len(s.tris)
	}
	if offs[ns] >= 1<<32-1 {
		return nil, fmt.Errorf("surface of %d vertices is too large", offs[ns])
	}
	r := &rawMesh{verts: make([][3]float32, offs[ns]), tris: make([][3]uint32, toff[ns])}
	nxy := f.n[0] * f.n[1]
	var bad atomic.Bool
	parallel.For(ns, workers, func(n int) {
		s := slabs[n]
		copy(r.verts[offs[n]:], s.verts)
		dst := r.tris[toff[n]:]
		for t, tr := range s.tris {
			for c, id := range tr {
				if id >= 0 {
					dst[t][c] = uint32(int(id) + offs[n])
					continue
				}
				code := int(-1 - id)
				g := int32(-1)
				if n+1 < ns {
					g = slabs[n+1].bottom[code/nxy][code%nxy]
				}
				if g < 0 {
					bad.Store(true)
					continue
				}
				dst[t][c] = uint32(int(g) + offs[n+1])
			}
		}
	})
	if bad.Load() {
		// Every cut edge of a layer is used by the cubes on both sides of
		// it, so this cannot happen; say so rather than write a broken mesh.
		return nil, fmt.Errorf("mesh: internal error: an edge between slabs has no vertex")
	}
	return r, nil
}
