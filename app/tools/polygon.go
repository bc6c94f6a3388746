package tools

import (
	"errors"
	"math"
	"slices"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
)

// addCorner adds p to the polygon: at a press always (unless it repeats
// the last corner, as the second click of a double-click does), in a drag
// once the mouse moved a pixel from the last corner. A corner on another
// slice or plane than the polygon's starts a new polygon there.
func (e *Editor) addCorner(p Point, press bool) error {
	_, vol, ok := e.slicer(p.Plane)
	if !ok {
		return app.ErrNoVolume
	}
	if len(e.poly) > 0 && (e.poly[0].Plane != p.Plane || e.poly[0].Slice != p.Slice || e.polyVol != vol) {
		e.poly = nil
	}
	if len(e.poly) == 0 {
		e.polyVol = vol
	}
	if n := len(e.poly); n > 0 {
		d := math.Hypot(p.U-e.poly[n-1].U, p.V-e.poly[n-1].V)
		if d < 0.5 || !press && d < 1 {
			return nil
		}
	}
	e.poly = append(e.poly, p)
	return nil
}

// closePolygon fills the polygon drawn with the chosen segment, as one
// undo step, and clears it.
func (e *Editor) closePolygon() error {
	poly := e.poly
	e.poly, e.drawing = nil, false
	if len(poly) < 3 {
		return errors.New("polygon: click at least three corners before closing it")
	}
	s, vol, ok := e.slicer(poly[0].Plane)
	if !ok {
		return app.ErrNoVolume
	}
	if vol != e.polyVol {
		return errors.New("polygon: another scan was opened while it was drawn; draw it again")
	}
	slice := poly[0].Slice
	if slice < 0 || slice >= s.NumSlices() {
		return nil
	}
	idx := rasterize(s, slice, poly)
	if len(idx) == 0 {
		return errors.New("polygon: it covers no voxel of the scan")
	}
	points := make([]app.PointPrompt, len(poly))
	for n, p := range poly {
		u, v := p.pixel()
		i, j, k := s.Voxel(slice, u, v)
		points[n] = app.PointPrompt{Voxel: [3]int{i, j, k}, Positive: true}
	}
	name := "Polygon " + e.s.SegmentOf(e.set.Value).Name
	st, err := e.s.BeginStroke(name, app.PaintOptions{Value: e.set.Value},
		&app.Provenance{Tool: "polygon", Prompts: &app.Prompts{Plane: poly[0].Plane.String(), Points: points}})
	if err != nil {
		return err
	}
	if _, err := st.Paint(idx); err != nil {
		return err
	}
	_, err = st.End()
	return err
}

// rasterize returns the data indices of the pixels of slice whose centres
// lie inside the polygon (even-odd rule), clipped to the slice.
func rasterize(s viewer.Slicer, slice int, poly []Point) []int {
	w, h := s.Size()
	minV, maxV := math.Inf(1), math.Inf(-1)
	for _, p := range poly {
		minV, maxV = min(minV, p.V), max(maxV, p.V)
	}
	v0 := max(0, int(math.Floor(minV-0.5)))
	v1 := min(h-1, int(math.Ceil(maxV)))
	var idx []int
	var xs []float64
	for v := v0; v <= v1; v++ {
		y := float64(v) + 0.5
		xs = xs[:0]
		for n := range poly {
			a, b := poly[n], poly[(n+1)%len(poly)]
			if (a.V <= y) != (b.V <= y) {
				xs = append(xs, a.U+(y-a.V)*(b.U-a.U)/(b.V-a.V))
			}
		}
		slices.Sort(xs)
		for n := 0; n+1 < len(xs); n += 2 {
			// Pixel u's centre u+0.5 lies in [xs[n], xs[n+1]).
			u0 := max(0, int(math.Ceil(xs[n]-0.5)))
			u1 := min(w-1, int(math.Ceil(xs[n+1]-0.5))-1)
			for u := u0; u <= u1; u++ {
				idx = append(idx, s.Index(slice, u, v))
			}
		}
	}
	return idx
}
