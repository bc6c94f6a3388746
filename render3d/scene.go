package render3d

import (
	"image/color"
	"math"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/volume"
)

// Object is a mesh in a scene, with what drawing it needs (its normals and
// bounds) computed once. Change the mesh through SetMesh, which computes
// them again; Color and Visible may be changed freely between frames.
type Object struct {
	Mesh *mesh.Mesh
	// Color is the surface's colour; meshes are drawn opaque, whatever its
	// alpha.
	Color   color.NRGBA
	Visible bool

	normals  [][3]float32 // per vertex, for Gouraud shading
	fnormals [][3]float32 // per triangle, for flat shading
	lo, hi   Vec
}

// NewObject returns a visible object of m in m's colour.
func NewObject(m *mesh.Mesh) *Object {
	o := &Object{Color: m.Color, Visible: true}
	o.SetMesh(m)
	return o
}

// SetMesh replaces the object's mesh (after a segment was re-meshed, say).
func (o *Object) SetMesh(m *mesh.Mesh) {
	o.Mesh = m
	o.normals = m.VertexNormals()
	o.fnormals = make([][3]float32, len(m.Triangles))
	for n, t := range m.Triangles {
		p0, p1, p2 := vec(m.Vertices[t[0]]), vec(m.Vertices[t[1]]), vec(m.Vertices[t[2]])
		c := cross(sub(p1, p0), sub(p2, p0))
		if l := norm(c); l > 0 {
			o.fnormals[n] = [3]float32{float32(c[0] / l), float32(c[1] / l), float32(c[2] / l)}
		}
	}
	lo, hi := m.Bounds()
	o.lo, o.hi = vec(lo), vec(hi)
}

func vec(p [3]float32) Vec { return Vec{float64(p[0]), float64(p[1]), float64(p[2])} }

// Quad is a flat quadrilateral drawn translucent over the meshes: a slice
// plane. Its colour's alpha is its opacity.
type Quad struct {
	Corners [4]Vec
	Color   color.NRGBA
}

// Scene is what a frame shows: meshes, and quads over them.
type Scene struct {
	Objects []*Object
	Quads   []Quad
}

// Bounds returns the box holding every visible object (and quad); ok is
// false for an empty scene.
func (s *Scene) Bounds() (lo, hi Vec, ok bool) {
	lo = Vec{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = Vec{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	grow := func(p Vec) {
		for a := range 3 {
			lo[a], hi[a] = min(lo[a], p[a]), max(hi[a], p[a])
		}
		ok = true
	}
	for _, o := range s.Objects {
		if o.Visible && len(o.Mesh.Triangles) > 0 {
			grow(o.lo)
			grow(o.hi)
		}
	}
	for _, q := range s.Quads {
		for _, c := range q.Corners {
			grow(c)
		}
	}
	return lo, hi, ok
}

// SlicePlanes returns the three planes of grid g through the point at of
// voxel coordinates (continuous: voxel (i, j, k)'s centre is (i, j, k)),
// each spanning the grid to the outer faces of its voxels: the axial plane
// first (the voxel axis nearest the world's z), then the coronal and the
// sagittal, in the colours given.
func SlicePlanes(g volume.Grid, at [3]float64, colors [3]color.NRGBA) []Quad {
	world, _ := g.Affine.Axes()
	out := make([]Quad, 3)
	for a := range 3 {
		// The voxel axis a shows the plane of the world axis it is
		// nearest to: z axial (0), y coronal (1), x sagittal (2).
		plane := 2 - world[a]
		u, v := (a+1)%3, (a+2)%3
		lu, hu := -0.5, float64(g.Dims[u])-0.5
		lv, hv := -0.5, float64(g.Dims[v])-0.5
		var q Quad
		for n, c := range [4][2]float64{{lu, lv}, {hu, lv}, {hu, hv}, {lu, hv}} {
			var p [3]float64
			p[a], p[u], p[v] = at[a], c[0], c[1]
			x, y, z := g.Affine.Apply(p[0], p[1], p[2])
			q.Corners[n] = Vec{x, y, z}
		}
		q.Color = colors[plane]
		out[plane] = q
	}
	return out
}
