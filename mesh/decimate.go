package mesh

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
)

// Decimate reduces the mesh to about ratio of its triangles by quadric
// edge collapse (Garland and Heckbert, "Surface simplification using
// quadric error metrics", SIGGRAPH 1997): the edge whose collapse moves
// the surface least goes first, its two vertices becoming one at the point
// that minimises the summed squared distances to their triangles' planes.
//
// A collapse is made only if it keeps the mesh a closed, consistently
// oriented 2-manifold: the two vertices share exactly the two neighbours
// of the edge's triangles (the link condition of Dey et al.), no vertex is
// left with fewer than three triangles, and no remaining triangle turns
// over. Decimation stops short of the ratio when no such collapse is left
// (a tetrahedron cannot be reduced). A ratio of 1 or more changes nothing.
func (m *Mesh) Decimate(ctx context.Context, ratio float64) error {
	if !(ratio > 0) {
		return fmt.Errorf("decimation ratio %g: want a fraction above 0", ratio)
	}
	if ratio >= 1 || len(m.Triangles) <= 4 {
		return nil
	}
	d := newDecimator(m)
	target := int(math.Ceil(ratio * float64(len(m.Triangles))))
	if err := d.run(ctx, target); err != nil {
		return err
	}
	d.compact(m)
	return nil
}

// quadric is a symmetric 4×4 matrix, upper triangle row by row:
// a00 a01 a02 a03 a11 a12 a13 a22 a23 a33.
type quadric [10]float64

func planeQuadric(n v3, d, w float64) quadric {
	a, b, c := n[0], n[1], n[2]
	return quadric{w * a * a, w * a * b, w * a * c, w * a * d, w * b * b, w * b * c, w * b * d, w * c * c, w * c * d, w * d * d}
}

func (q *quadric) add(o *quadric) {
	for i := range q {
		q[i] += o[i]
	}
}

func (q *quadric) eval(p v3) float64 {
	x, y, z := p[0], p[1], p[2]
	return q[0]*x*x + 2*q[1]*x*y + 2*q[2]*x*z + 2*q[3]*x +
		q[4]*y*y + 2*q[5]*y*z + 2*q[6]*y +
		q[7]*z*z + 2*q[8]*z + q[9]
}

// optimum returns the point minimising q, or false when the system is too
// close to singular (a flat or cylindrical neighbourhood, where every
// point along a line or plane is as good).
func (q *quadric) optimum() (v3, bool) {
	a := [3][3]float64{{q[0], q[1], q[2]}, {q[1], q[4], q[5]}, {q[2], q[5], q[7]}}
	b := v3{-q[3], -q[6], -q[8]}
	det := a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	tr := a[0][0] + a[1][1] + a[2][2]
	// Relative to the scale of the matrix: a determinant far below
	// trace³ means an eigenvalue near zero.
	if tr <= 0 || math.Abs(det) < 1e-6*tr*tr*tr {
		return v3{}, false
	}
	solve := func(c int) float64 {
		m := a
		for r := range 3 {
			m[r][c] = b[r]
		}
		return (m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
			m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
			m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])) / det
	}
	return v3{solve(0), solve(1), solve(2)}, true
}

type candidate struct {
	cost   float64
	u, v   uint32
	su, sv uint32 // the vertices' stamps when the candidate was made
	p      v3
}

type candHeap []candidate

func (h candHeap) Len() int           { return len(h) }
func (h candHeap) Less(i, j int) bool { return h[i].cost < h[j].cost }
func (h candHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)        { *h = append(*h, x.(candidate)) }
func (h *candHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

type decimator struct {
	pos   []v3
	q     []quadric
	tris  [][3]uint32
	alive []bool
	// vt lists the triangles of each vertex; entries of dead triangles
	// linger until the list is next cleaned.
	vt    [][]int32
	dead  []bool
	stamp []uint32
	heap  candHeap
	live  int
	// scratch
	nu, nv []uint32
}

func newDecimator(m *Mesh) *decimator {
	nv := len(m.Vertices)
	d := &decimator{
		pos:   make([]v3, nv),
		q:     make([]quadric, nv),
		tris:  slices.Clone(m.Triangles),
		alive: make([]bool, len(m.Triangles)),
		vt:    make([][]int32, nv),
		dead:  make([]bool, nv),
		stamp: make([]uint32, nv),
		live:  len(m.Triangles),
	}
	for i, p := range m.Vertices {
		d.pos[i] = vec(p)
	}
	for n, t := range d.tris {
		d.alive[n] = true
		for _, v := range t {
			d.vt[v] = append(d.vt[v], int32(n))
		}
		p0, p1, p2 := d.pos[t[0]], d.pos[t[1]], d.pos[t[2]]
		nrm := cross(sub(p1, p0), sub(p2, p0))
		l := norm(nrm)
		if l == 0 {
			continue
		}
		// Area-weighted, so that large flat triangles hold their plane.
		nrm = scale(nrm, 1/l)
		pq := planeQuadric(nrm, -dot(nrm, p0), l/2)
		for _, v := range t {
			d.q[v].add(&pq)
		}
	}
	for _, t := range d.tris {
		for e := range 3 {
			if a, b := t[e], t[(e+1)%3]; a < b {
				d.heap = append(d.heap, d.price(a, b))
			}
		}
	}
	heap.Init(&d.heap)
	return d
}

// price prices the collapse of edge (u, v).
func (d *decimator) price(u, v uint32) candidate {
	q := d.q[u]
	q.add(&d.q[v])
	p, ok := q.optimum()
	cost := math.Inf(1)
	if ok {
		cost = q.eval(p)
	}
	if !ok || cost > 0 {
		// Also try the ends and the middle: on a flat or nearly flat
		// patch they are as good and keep vertices on the lattice.
		for _, c := range [3]v3{d.pos[u], d.pos[v], scale(add(d.pos[u], d.pos[v]), 0.5)} {
			if e := q.eval(c); e < cost {
				p, cost = c, e
			}
		}
	}
	return candidate{cost: cost, u: u, v: v, su: d.stamp[u], sv: d.stamp[v], p: p}
}

func (d *decimator) run(ctx context.Context, target int) error {
	for n := 0; d.live > target && d.heap.Len() > 0; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		c := heap.Pop(&d.heap).(candidate)
		if d.dead[c.u] || d.dead[c.v] || d.stamp[c.u] != c.su || d.stamp[c.v] != c.sv {
			continue
		}
		if !d.collapse(c.u, c.v, c.p) {
			continue
		}
		// Only u's quadric and position changed: the edges at u are
		// priced anew, and the stamp retires their queued prices. Other
		// edges keep their cost.
		d.stamp[c.u]++
		d.clean(c.u)
		d.nu = d.neighbours(c.u, d.nu[:0])
		for _, w := range d.nu {
			heap.Push(&d.heap, d.price(c.u, w))
		}
	}
	return nil
}

// clean drops dead triangles from v's list.
func (d *decimator) clean(v uint32) {
	l := d.vt[v][:0]
	for _, t := range d.vt[v] {
		if d.alive[t] {
			l = append(l, t)
		}
	}
	d.vt[v] = l
}

// neighbours appends v's neighbours, each once.
func (d *decimator) neighbours(v uint32, out []uint32) []uint32 {
	start := len(out)
	for _, t := range d.vt[v] {
		if !d.alive[t] {
			continue
		}
		for _, w := range d.tris[t] {
			if w != v && !slices.Contains(out[start:], w) {
				out = append(out, w)
			}
		}
	}
	return out
}

func (d *decimator) degree(v uint32) int {
	n := 0
	for _, t := range d.vt[v] {
		if d.alive[t] {
			n++
		}
	}
	return n
}

// collapse merges v into u at p if the result stays a closed oriented
// manifold without flipped triangles, and reports whether it did.
func (d *decimator) collapse(u, v uint32, p v3) bool {
	d.nu = d.neighbours(u, d.nu[:0])
	d.nv = d.neighbours(v, d.nv[:0])
	// The link condition: u and v share exactly the two vertices
	// opposite their edge.
	var common [2]uint32
	nc := 0
	for _, w := range d.nu {
		if w != v && slices.Contains(d.nv, w) {
			if nc == 2 {
				return false
			}
			common[nc] = w
			nc++
		}
	}
	if nc != 2 {
		return false
	}
	if d.degree(common[0]) <= 3 || d.degree(common[1]) <= 3 || d.degree(u)+d.degree(v)-4 < 3 {
		return false
	}
	// No triangle that stays may turn over or become degenerate.
	for _, x := range [2]uint32{u, v} {
		for _, t := range d.vt[x] {
			if !d.alive[t] {
				continue
			}
			tr := d.tris[t]
			if (tr[0] == u || tr[1] == u || tr[2] == u) && (tr[0] == v || tr[1] == v || tr[2] == v) {
				continue // removed by the collapse
			}
			var a, b [3]v3
			for k, w := range tr {
				a[k] = d.pos[w]
				b[k] = a[k]
				if w == x {
					b[k] = p
				}
			}
			n0 := cross(sub(a[1], a[0]), sub(a[2], a[0]))
			n1 := cross(sub(b[1], b[0]), sub(b[2], b[0]))
			l0, l1 := norm(n0), norm(n1)
			// A new normal within about 78° of the old one, and a new
			// triangle that is not a needle.
			if l1 == 0 || dot(n0, n1) < 0.2*l0*l1 || triQuality(b[0], b[1], b[2]) < 0.05 {
				return false
			}
		}
	}
	for _, t := range d.vt[v] {
		if !d.alive[t] {
			continue
		}
		tr := &d.tris[t]
		if tr[0] == u || tr[1] == u || tr[2] == u {
			d.alive[t] = false
			d.live--
			continue
		}
		for k := range tr {
			if tr[k] == v {
				tr[k] = u
			}
		}
		d.vt[u] = append(d.vt[u], t)
	}
	d.vt[v] = nil
	d.dead[v] = true
	d.pos[u] = p
	d.q[u].add(&d.q[v])
	return true
}

// compact writes the surviving vertices and triangles back into m.
func (d *decimator) compact(m *Mesh) {
	remap := make([]uint32, len(d.pos))
	verts := m.Vertices[:0]
	used := make([]bool, len(d.pos))
	for n, t := range d.tris {
		if d.alive[n] {
			for _, v := range t {
				used[v] = true
			}
		}
	}
	for v, p := range d.pos {
		if used[v] {
			remap[v] = uint32(len(verts))
			verts = append(verts, [3]float32{float32(p[0]), float32(p[1]), float32(p[2])})
		}
	}
	tris := m.Triangles[:0]
	for n, t := range d.tris {
		if d.alive[n] {
			tris = append(tris, [3]uint32{remap[t[0]], remap[t[1]], remap[t[2]]})
		}
	}
	m.Vertices, m.Triangles = verts, tris
}
