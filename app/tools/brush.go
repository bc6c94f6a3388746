package tools

import (
	"math"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
)

// stamp is the brush's shape on one plane: the display offsets (slice,
// column, row) of the voxels it covers around its centre voxel, for one
// size and voxel spacing. Computed once per stroke and plane, it makes a
// dab a loop over offsets.
type stamp struct {
	key     stampKey
	offsets [][3]int
}

type stampKey struct {
	plane      viewer.Plane
	sizeMM     float64
	sphere     bool
	ds, du, dv float64 // spacing in mm: slices, columns, rows
}

// newStamp returns the offsets of voxels whose centres lie within the
// brush's radius of the centre voxel's, in mm; the centre voxel always.
func newStamp(k stampKey) stamp {
	r := k.sizeMM / 2
	span := func(sp float64) int {
		if !(sp > 0) {
			return 0
		}
		return int(math.Floor(r / sp))
	}
	ns := 0
	if k.sphere {
		ns = span(k.ds)
	}
	nu, nv := span(k.du), span(k.dv)
	st := stamp{key: k}
	for c := -ns; c <= ns; c++ {
		for b := -nv; b <= nv; b++ {
			for a := -nu; a <= nu; a++ {
				x, y, z := float64(a)*k.du, float64(b)*k.dv, float64(c)*k.ds
				if x*x+y*y+z*z <= r*r || (a == 0 && b == 0 && c == 0) {
					st.offsets = append(st.offsets, [3]int{c, a, b})
				}
			}
		}
	}
	return st
}

// stampFor returns the stamp of the current settings on plane p.
func (e *Editor) stampFor(s viewer.Slicer, p viewer.Plane) *stamp {
	du, dv := s.PixelSpacing()
	k := stampKey{plane: p, sizeMM: e.set.SizeMM, sphere: e.set.Sphere, ds: s.SliceSpacing(), du: du, dv: dv}
	if e.stamp.key != k || e.stamp.offsets == nil {
		e.stamp = newStamp(k)
	}
	return &e.stamp
}

// dab appends to idx the data indices of the brush centred on display
// pixel (u, v) of slice, inside the grid.
func dab(idx []int, s viewer.Slicer, st *stamp, slice, u, v int) []int {
	w, h := s.Size()
	n := s.NumSlices()
	for _, o := range st.offsets {
		sl, x, y := slice+o[0], u+o[1], v+o[2]
		if sl < 0 || sl >= n || x < 0 || x >= w || y < 0 || y >= h {
			continue
		}
		idx = append(idx, s.Index(sl, x, y))
	}
	return idx
}

// strokeName and strokeTool name a brush tool's undo step and provenance.
func strokeName(k Kind) (name, tool string) {
	switch k {
	case Eraser:
		return "Erase", "eraser"
	case Threshold:
		return "Threshold paint", "threshold-brush"
	}
	return "Paint", "brush"
}

// beginStroke starts a brush stroke with its first dab at p.
func (e *Editor) beginStroke(p Point) error {
	e.finishStroke()
	if _, _, ok := e.slicer(p.Plane); !ok {
		return app.ErrNoVolume
	}
	opts := app.PaintOptions{Value: e.set.Value, Erase: e.kind == Eraser}
	if e.kind == Threshold {
		hu := e.set.HU
		opts.HU = &hu
	}
	name, tool := strokeName(e.kind)
	name += " " + e.s.SegmentOf(e.set.Value).Name
	prov := &app.Provenance{Tool: tool,
		Options: map[string]any{"size_mm": e.set.SizeMM, "sphere": e.set.Sphere},
		Prompts: &app.Prompts{Plane: p.Plane.String(), Strokes: 1}}
	if opts.Erase {
		prov.Labels = []uint16{0}
		prov.Options["erased"] = e.set.Value
	}
	st, err := e.s.BeginStroke(name, opts, prov)
	if err != nil {
		return err
	}
	e.stroke, e.strokeOf = st, name
	e.last = p
	return e.paintSegment(p, p)
}

// strokeTo continues the stroke to p, painting dabs along the way so that
// a fast mouse leaves a continuous stroke.
func (e *Editor) strokeTo(p Point) error {
	if e.stroke == nil {
		return nil
	}
	from := e.last
	if from.Plane != p.Plane || from.Slice != p.Slice {
		// The stroke moved to another slice (the wheel turned with the
		// button held) or view: it goes on there, from p.
		from = p
	}
	e.last = p
	return e.paintSegment(from, p)
}

// paintSegment paints dabs from a to b, both on b's slice, one at every
// pixel along the way, so that the stroke is the brush swept along the
// path whatever the mouse's speed.
func (e *Editor) paintSegment(a, b Point) error {
	s, _, ok := e.slicer(b.Plane)
	if !ok {
		return app.ErrNoVolume
	}
	if b.Slice < 0 || b.Slice >= s.NumSlices() {
		return nil
	}
	st := e.stampFor(s, b.Plane)
	au, av := a.pixel()
	bu, bv := b.pixel()
	steps := max(abs(bu-au), abs(bv-av))
	idx := e.scratch[:0]
	pu, pv := math.MinInt, math.MinInt
	for n := 0; n <= steps; n++ {
		t := 1.0
		if steps > 0 {
			t = float64(n) / float64(steps)
		}
		u := int(math.Round(float64(au) + t*float64(bu-au)))
		v := int(math.Round(float64(av) + t*float64(bv-av)))
		if u == pu && v == pv {
			continue
		}
		pu, pv = u, v
		idx = dab(idx, s, st, b.Slice, u, v)
	}
	e.scratch = idx
	if _, err := e.stroke.Paint(idx); err != nil {
		// Something else ended the stroke (a job replacing the labels):
		// what it painted is kept; stop here and say why.
		e.stroke = nil
		return err
	}
	return nil
}

// finishStroke ends the stroke going on, if any, as one undo step.
func (e *Editor) finishStroke() error {
	st := e.stroke
	if st == nil {
		return nil
	}
	e.stroke = nil
	_, err := st.End()
	return err
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
