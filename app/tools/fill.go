package tools

import (
	"errors"
	"fmt"
	"math"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// fill paints, as one undo step, the region connected to the voxel under
// p whose scan values lie in the HU range and whose voxels the masking
// rule lets the chosen segment have (or that have it already): on the
// slice (4-connected), or through the volume (6-connected) when Sphere is
// on.
func (e *Editor) fill(p Point) error {
	s, _, ok := e.slicer(p.Plane)
	if !ok {
		return app.ErrNoVolume
	}
	u, v := p.pixel()
	if !s.Contains(p.Slice, u, v) {
		return errors.New("flood fill: click inside the scan")
	}
	hu := e.set.HU
	opts := app.PaintOptions{Value: e.set.Value, HU: &hu}
	paintable := e.s.Paintable(opts)
	seed := s.Index(p.Slice, u, v)
	var region []int
	var err error
	e.s.Read(func(vol *volume.Volume, layer *viewer.Overlay) {
		if vol == nil || layer.Labels == nil || vol.Grid != s.Grid() {
			err = app.ErrNoVolume
			return
		}
		in := func(i int) bool {
			cur := layer.Labels.Data[i]
			return hu.Contains(vol.Data[i]) && (cur == opts.Value || paintable(cur))
		}
		if x := vol.Data[seed]; !hu.Contains(x) {
			err = fmt.Errorf("flood fill: the voxel clicked is %s HU, outside the range %g..%g", formatHU(x), hu.Min, hu.Max)
			return
		}
		if !in(seed) {
			err = fmt.Errorf("flood fill: the voxel clicked belongs to %s, which may not be overwritten (locked, or \"overwrite others\" is off)",
				layer.Table.Name(layer.Labels.Data[seed]))
			return
		}
		if e.set.Sphere {
			region = grow3D(vol.Grid, seed, in)
		} else {
			region = grow2D(s, p.Slice, u, v, in)
		}
	})
	if err != nil {
		return err
	}
	i, j, k := s.Voxel(p.Slice, u, v)
	name := "Fill " + e.s.SegmentOf(e.set.Value).Name
	st, err := e.s.BeginStroke(name, opts, &app.Provenance{Tool: "flood-fill",
		Options: map[string]any{"3d": e.set.Sphere},
		Prompts: &app.Prompts{Plane: p.Plane.String(), Points: []app.PointPrompt{{Voxel: [3]int{i, j, k}, Positive: true}}}})
	if err != nil {
		return err
	}
	if _, err := st.Paint(region); err != nil {
		return err
	}
	_, err = st.End()
	return err
}

func formatHU(x float32) string {
	if math.IsNaN(float64(x)) {
		return "NaN"
	}
	return fmt.Sprintf("%.0f", x)
}

// grow2D returns the data indices of the 4-connected region of slice
// around pixel (u, v) where in holds.
func grow2D(s viewer.Slicer, slice, u, v int, in func(int) bool) []int {
	w, h := s.Size()
	seen := make([]bool, w*h)
	stack := [][2]int{{u, v}}
	seen[v*w+u] = true
	var out []int
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, s.Index(slice, p[0], p[1]))
		for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			x, y := p[0]+d[0], p[1]+d[1]
			if x < 0 || y < 0 || x >= w || y >= h || seen[y*w+x] {
				continue
			}
			seen[y*w+x] = true
			if in(s.Index(slice, x, y)) {
				stack = append(stack, [2]int{x, y})
			}
		}
	}
	return out
}

// grow3D returns the data indices of the 6-connected region of the grid
// around data index seed where in holds.
func grow3D(g volume.Grid, seed int, in func(int) bool) []int {
	nx, ny, nz := g.Dims[0], g.Dims[1], g.Dims[2]
	nxy := nx * ny
	seen := make([]bool, g.Len())
	seen[seed] = true
	stack := []int{seed}
	var out []int
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, i)
		x, y, z := i%nx, i%nxy/nx, i/nxy
		try := func(ok bool, j int) {
			if ok && !seen[j] {
				seen[j] = true
				if in(j) {
					stack = append(stack, j)
				}
			}
		}
		try(x > 0, i-1)
		try(x < nx-1, i+1)
		try(y > 0, i-nx)
		try(y < ny-1, i+nx)
		try(z > 0, i-nxy)
		try(z < nz-1, i+nxy)
	}
	return out
}
