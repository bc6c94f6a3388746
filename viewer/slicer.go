package viewer

import (
	"fmt"
	"strings"

	"github.com/polyseg/polyseg/volume"
)

// Plane is one of the three orthogonal viewing planes.
type Plane int

// The planes. The zero value is Axial.
const (
	Axial    Plane = iota // transverse: perpendicular to the patient's long axis
	Coronal               // frontal
	Sagittal              // side view
)

// Planes lists the planes in their usual display order.
var Planes = [...]Plane{Axial, Coronal, Sagittal}

// String returns "axial", "coronal" or "sagittal".
func (p Plane) String() string {
	switch p {
	case Axial:
		return "axial"
	case Coronal:
		return "coronal"
	case Sagittal:
		return "sagittal"
	}
	return fmt.Sprintf("Plane(%d)", int(p))
}

// ParsePlane accepts the names String returns, in any case, and their first
// letters a, c, s.
func ParsePlane(s string) (Plane, error) {
	switch strings.ToLower(s) {
	case "axial", "a":
		return Axial, nil
	case "coronal", "c":
		return Coronal, nil
	case "sagittal", "s":
		return Sagittal, nil
	}
	return 0, fmt.Errorf("unknown plane %q (want axial, coronal or sagittal)", s)
}

// Edges returns the patient directions at the left, right, top and bottom
// edges of the displayed slice ("R", "L", "A", "P", "S", "I"), for the
// orientation markers a viewer draws.
func (p Plane) Edges() (left, right, top, bottom string) {
	switch p {
	case Coronal:
		return "R", "L", "S", "I"
	case Sagittal:
		return "A", "P", "S", "I"
	}
	return "R", "L", "A", "P"
}

// Normal returns the world axis (0 x, 1 y, 2 z of RAS+) that the slices of
// p are perpendicular to.
func (p Plane) Normal() int {
	w, _ := p.layout()
	return w[0]
}

// layout gives, for the slice, column and row directions of plane p, the
// world axis (0 x, 1 y, 2 z of RAS+) and the way it runs when the display
// coordinate grows (+1 towards R, A or S; -1 towards L, P or I).
func (p Plane) layout() (world, dir [3]int) {
	switch p {
	case Coronal:
		return [3]int{1, 0, 2}, [3]int{+1, -1, -1}
	case Sagittal:
		return [3]int{0, 1, 2}, [3]int{+1, -1, -1}
	}
	return [3]int{2, 0, 1}, [3]int{+1, -1, -1}
}

// A Slicer maps the display pixels of one plane's slices to voxels of a
// grid, in the radiological convention described in the package
// documentation, whatever the order of the voxels on disk. A Slicer is a
// small value; copy it freely. The zero Slicer has no slices.
//
// Display coordinates are (slice, u, v): slice numbers the slices of the
// plane, u is the column (0 at the left edge), v the row (0 at the top).
type Slicer struct {
	grid  volume.Grid
	plane Plane
	// For display axis m (0 slice, 1 column, 2 row): the voxel axis shown
	// along it, whether the voxel index runs against the display coordinate,
	// the number of positions, and the signed step in the data slice.
	axis   [3]int
	rev    [3]bool
	n      [3]int
	stride [3]int
	base   int // data index of display (0, 0, 0)
}

// NewSlicer returns the slicer of plane p for grid g. The voxel axis closest
// to each world axis is chosen with g.Affine.Axes, so an oblique grid is
// shown as its nearest axis-aligned voxel planes, without interpolation.
// p must be Axial, Coronal or Sagittal.
func NewSlicer(g volume.Grid, p Plane) Slicer {
	if p != Axial && p != Coronal && p != Sagittal {
		panic(fmt.Sprintf("viewer: NewSlicer with invalid plane %d", int(p)))
	}
	world, sign := g.Affine.Axes()
	// voxelOf[w] is the voxel axis closest to world axis w.
	var voxelOf [3]int
	for c, w := range world {
		voxelOf[w] = c
	}
	dataStep := [3]int{1, g.Dims[0], g.Dims[0] * g.Dims[1]}
	s := Slicer{grid: g, plane: p}
	pw, pd := p.layout()
	for m := 0; m < 3; m++ {
		a := voxelOf[pw[m]]
		s.axis[m] = a
		s.n[m] = g.Dims[a]
		// The voxel index moves the world coordinate by sign[a] per step;
		// the display coordinate must move it by pd[m].
		s.rev[m] = sign[a] != pd[m]
		s.stride[m] = dataStep[a]
		if s.rev[m] {
			s.stride[m] = -dataStep[a]
			s.base += (s.n[m] - 1) * dataStep[a]
		}
	}
	return s
}

// Grid returns the grid the slicer was built for.
func (s Slicer) Grid() volume.Grid { return s.grid }

// Plane returns the slicer's plane.
func (s Slicer) Plane() Plane { return s.plane }

// NumSlices returns the number of slices. Slice numbers grow towards the
// patient's Superior (axial), Anterior (coronal) or Right (sagittal).
func (s Slicer) NumSlices() int { return s.n[0] }

// Size returns the width (columns) and height (rows) of a slice in pixels,
// one pixel per voxel.
func (s Slicer) Size() (w, h int) { return s.n[1], s.n[2] }

// PixelSpacing returns the size in mm of a display pixel across (a column)
// and down (a row); their ratio is the aspect ratio a slice must be shown
// with.
func (s Slicer) PixelSpacing() (du, dv float64) {
	sp := s.grid.Spacing()
	return sp[s.axis[1]], sp[s.axis[2]]
}

// SliceSpacing returns the distance in mm between neighbouring slices.
func (s Slicer) SliceSpacing() float64 { return s.grid.Spacing()[s.axis[0]] }

// Contains reports whether display position (slice, u, v) is inside the grid.
func (s Slicer) Contains(slice, u, v int) bool {
	return slice >= 0 && u >= 0 && v >= 0 && slice < s.n[0] && u < s.n[1] && v < s.n[2]
}

// Voxel returns the voxel shown at display position (slice, u, v).
// Positions outside the grid give voxels outside it (see Contains).
func (s Slicer) Voxel(slice, u, v int) (i, j, k int) {
	var ijk [3]int
	for m, d := range [3]int{slice, u, v} {
		if s.rev[m] {
			d = s.n[m] - 1 - d
		}
		ijk[s.axis[m]] = d
	}
	return ijk[0], ijk[1], ijk[2]
}

// Locate returns the display position of voxel (i, j, k): the inverse of
// Voxel. A viewer uses it to draw the crosshair of a voxel picked in another
// plane.
func (s Slicer) Locate(i, j, k int) (slice, u, v int) {
	ijk := [3]int{i, j, k}
	var d [3]int
	for m := 0; m < 3; m++ {
		d[m] = ijk[s.axis[m]]
		if s.rev[m] {
			d[m] = s.n[m] - 1 - d[m]
		}
	}
	return d[0], d[1], d[2]
}

// Index returns the position in a Data slice (volume.Volume.Data,
// volume.Labels.Data) of the voxel at display position (slice, u, v), which
// must be inside the grid.
func (s Slicer) Index(slice, u, v int) int {
	return s.base + slice*s.stride[0] + u*s.stride[1] + v*s.stride[2]
}

// Steps returns what a loop over one slice needs: the data index of pixel
// (0, 0) of the slice and the signed index steps for one column right and
// one row down, so pixel (u, v) is at origin + u*du + v*dv.
func (s Slicer) Steps(slice int) (origin, du, dv int) {
	return s.base + slice*s.stride[0], s.stride[1], s.stride[2]
}

// WorldAt returns the world position (RAS+, mm) of the centre of the voxel
// at display position (slice, u, v).
func (s Slicer) WorldAt(slice, u, v int) (x, y, z float64) {
	i, j, k := s.Voxel(slice, u, v)
	return s.grid.Affine.Apply(float64(i), float64(j), float64(k))
}

// Orientation describes the slicer for a status bar, for example
// "axial, voxels LPS, 512×512×120: R left, A top".
func (s Slicer) Orientation() string {
	l, _, t, _ := s.plane.Edges()
	return fmt.Sprintf("%s, voxels %s, %d×%d×%d: %s left, %s top", s.plane, s.grid.Affine.AxisCodes(),
		s.grid.Dims[0], s.grid.Dims[1], s.grid.Dims[2], l, t)
}
