package mesh

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
)

// Mesh is a closed triangle surface of one segment. Vertices are world
// coordinates in millimetres, NIfTI's RAS+ (as everywhere in polyseg;
// writers convert to LPS on request). Triangles index Vertices and are
// ordered counter-clockwise seen from outside, so that the right-hand
// normal points out of the segment.
//
// A Mesh owns its slices; methods that change it (Smooth, Decimate)
// change them in place.
type Mesh struct {
	// Name and Color describe the segment in files (the STL header, the
	// OBJ material, the PLY comments and vertex colours).
	Name  string
	Label uint16
	Color color.NRGBA

	Vertices  [][3]float32
	Triangles [][3]uint32
}

// ErrNoVoxels is returned when a label has no voxel to make a surface of.
var ErrNoVoxels = errors.New("no voxels")

// Area returns the surface area in mm².
func (m *Mesh) Area() float64 {
	var a float64
	for _, t := range m.Triangles {
		p, q, r := vec(m.Vertices[t[0]]), vec(m.Vertices[t[1]]), vec(m.Vertices[t[2]])
		a += norm(cross(sub(q, p), sub(r, p)))
	}
	return a / 2
}

// Volume returns the signed volume enclosed by the mesh in mm³, by the
// divergence theorem: positive when the triangles face outwards, as the
// extractor makes them. It is the volume only for a closed mesh.
func (m *Mesh) Volume() float64 {
	if len(m.Vertices) == 0 {
		return 0
	}
	// Relative to a vertex of the mesh, so that coordinates far from the
	// origin do not cost precision.
	o := vec(m.Vertices[0])
	var v float64
	for _, t := range m.Triangles {
		p, q, r := sub(vec(m.Vertices[t[0]]), o), sub(vec(m.Vertices[t[1]]), o), sub(vec(m.Vertices[t[2]]), o)
		v += dot(p, cross(q, r))
	}
	return v / 6
}

// Bounds returns the smallest axis-aligned box holding every vertex; for a
// mesh without vertices both corners are zero.
func (m *Mesh) Bounds() (lo, hi [3]float32) {
	if len(m.Vertices) == 0 {
		return lo, hi
	}
	lo, hi = m.Vertices[0], m.Vertices[0]
	for _, p := range m.Vertices[1:] {
		for a := range 3 {
			lo[a] = min(lo[a], p[a])
			hi[a] = max(hi[a], p[a])
		}
	}
	return lo, hi
}

// VertexNormals returns a unit normal per vertex: the area-weighted mean
// of the normals of the triangles around it, pointing outwards. A vertex
// of no triangle gets the zero vector.
func (m *Mesh) VertexNormals() [][3]float32 {
	acc := make([][3]float64, len(m.Vertices))
	for _, t := range m.Triangles {
		p, q, r := vec(m.Vertices[t[0]]), vec(m.Vertices[t[1]]), vec(m.Vertices[t[2]])
		// The cross product's length is twice the area: the weighting.
		n := cross(sub(q, p), sub(r, p))
		for _, i := range t {
			acc[i] = add(acc[i], n)
		}
	}
	out := make([][3]float32, len(acc))
	for i, n := range acc {
		if l := norm(n); l > 0 {
			out[i] = [3]float32{float32(n[0] / l), float32(n[1] / l), float32(n[2] / l)}
		}
	}
	return out
}

// Clone returns a deep copy.
func (m *Mesh) Clone() *Mesh {
	c := *m
	c.Vertices = slices.Clone(m.Vertices)
	c.Triangles = slices.Clone(m.Triangles)
	return &c
}

// Check reports the first way in which m is not a closed, consistently
// oriented 2-manifold: a triangle with a repeated or out-of-range vertex,
// an edge not shared by exactly two triangles that run along it in
// opposite directions (an open or non-manifold edge, or a flipped
// neighbour), or a vertex whose triangles do not form a single fan (two
// surfaces touching at a point). It says nothing of self-intersections.
func Check(m *Mesh) error {
	nv := uint32(len(m.Vertices))
	half := make([]uint64, 0, 3*len(m.Triangles))
	for n, t := range m.Triangles {
		for e := range 3 {
			a, b := t[e], t[(e+1)%3]
			if a >= nv {
				return fmt.Errorf("triangle %d: vertex %d out of range (%d vertices)", n, a, nv)
			}
			if a == b {
				return fmt.Errorf("triangle %d: vertex %d repeated", n, a)
			}
			half = append(half, uint64(a)<<32|uint64(b))
		}
	}
	slices.Sort(half)
	for n, h := range half {
		if n > 0 && half[n-1] == h {
			return fmt.Errorf("edge %d→%d used twice in the same direction (non-manifold or inconsistently oriented)", h>>32, h&0xffffffff)
		}
		twin := h<<32 | h>>32
		if _, ok := slices.BinarySearch(half, twin); !ok {
			return fmt.Errorf("edge %d→%d has no opposite half (open edge or flipped neighbour)", h>>32, h&0xffffffff)
		}
	}
	// With every edge shared by exactly two triangles, the triangles
	// around a vertex v form one or more fans; walking the link (for each
	// triangle (v, a, b) the step a → b) from one neighbour must visit
	// all of v's triangles.
	first := make([]int32, nv+1)
	for _, t := range m.Triangles {
		for _, v := range t {
			first[v+1]++
		}
	}
	for v := range nv {
		first[v+1] += first[v]
	}
	link := make([][2]uint32, 3*len(m.Triangles))
	fill := slices.Clone(first[:nv])
	for _, t := range m.Triangles {
		for e := range 3 {
			v := t[e]
			link[fill[v]] = [2]uint32{t[(e+1)%3], t[(e+2)%3]}
			fill[v]++
		}
	}
	for v := range nv {
		l := link[first[v]:first[v+1]]
		if len(l) == 0 {
			continue
		}
		slices.SortFunc(l, func(x, y [2]uint32) int { return int(x[0]) - int(y[0]) })
		steps, at := 0, l[0][0]
		for {
			k, ok := slices.BinarySearchFunc(l, at, func(x [2]uint32, t uint32) int { return int(x[0]) - int(t) })
			if !ok {
				return fmt.Errorf("vertex %d: its triangles do not close around it", v)
			}
			at = l[k][1]
			steps++
			if at == l[0][0] || steps > len(l) {
				break
			}
		}
		if steps != len(l) {
			return fmt.Errorf("vertex %d: its %d triangles form more than one fan (non-manifold vertex)", v, len(l))
		}
	}
	return nil
}

// Float64 vector helpers: geometry is computed in float64 whatever the
// storage, so that sums over hundreds of thousands of triangles stay
// exact to well below a cubic millimetre.

type v3 = [3]float64

func vec(p [3]float32) v3      { return v3{float64(p[0]), float64(p[1]), float64(p[2])} }
func sub(a, b v3) v3           { return v3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func add(a, b v3) v3           { return v3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func scale(a v3, s float64) v3 { return v3{a[0] * s, a[1] * s, a[2] * s} }
func dot(a, b v3) float64      { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func norm(a v3) float64        { return math.Sqrt(dot(a, a)) }
func cross(a, b v3) v3 {
	return v3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
