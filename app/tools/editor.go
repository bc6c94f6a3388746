package tools

import (
	"errors"
	"fmt"
	"math"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Kind names a tool.
type Kind int

// The tools. The zero value, Navigate, is no tool: the mouse moves the
// crosshair.
const (
	Navigate  Kind = iota
	Brush          // paints a disc (or ball) of the chosen segment
	Eraser         // erases with the brush's shape
	Threshold      // the brush, painting only voxels inside the HU range
	Polygon        // click or drag the outline; Enter or double-click fills it
	Fill           // flood fill from a click, within the HU range
	Box            // a box dragged on the axial view, segmented by SAM
	Points         // SAM clicks on the axial view: this too, or not this
)

// Kinds lists the tools in tool-bar order.
var Kinds = [...]Kind{Navigate, Brush, Eraser, Threshold, Polygon, Fill, Box, Points}

// String returns the tool's name as the tool bar shows it.
func (k Kind) String() string {
	switch k {
	case Navigate:
		return "Navigate"
	case Brush:
		return "Brush"
	case Eraser:
		return "Eraser"
	case Threshold:
		return "Threshold"
	case Polygon:
		return "Polygon"
	case Fill:
		return "Fill"
	case Box:
		return "SAM box"
	case Points:
		return "SAM points"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// UsesBrush reports whether the tool paints with the brush's shape, whose
// outline a view draws under the mouse.
func (k Kind) UsesBrush() bool { return k == Brush || k == Eraser || k == Threshold }

// Point is where an event happened: the plane of the view, the slice it
// shows, and the position on that slice in continuous display coordinates
// (viewer.Slicer's columns U and rows V). Points outside the slice are
// allowed: a brush at the edge paints the part of it inside.
type Point struct {
	Plane viewer.Plane
	Slice int
	U, V  float64
}

// pixel returns the display pixel under p.
func (p Point) pixel() (u, v int) { return int(math.Floor(p.U)), int(math.Floor(p.V)) }

// Key is a key a tool may act on.
type Key int

// The keys tools use.
const (
	KeyEnter     Key = iota + 1 // closes the polygon
	KeyEscape                   // cancels the polygon, the stroke or the box going on
	KeyBackspace                // removes the polygon's last corner
)

// Settings are the tools' options, shared by all of them.
type Settings struct {
	// Value is the segment painted, erased or filled.
	Value uint16
	// SizeMM is the brush's diameter in mm.
	SizeMM float64
	// Sphere makes the brush a ball through neighbouring slices, and the
	// flood fill grow in 3D, instead of staying on the slice.
	Sphere bool
	// HU is the range of scan values the threshold brush and the flood
	// fill keep to.
	HU app.HURange
}

// Default settings: a brush the size of a small vessel, and the range of
// soft tissue and contrast-enhanced organs.
const (
	DefaultSizeMM = 10
	MinSizeMM     = 0.1
	MaxSizeMM     = 500
)

// DefaultHU is the HU range the threshold tools start with: soft tissue
// and enhancing organs, without fat and bone.
var DefaultHU = app.HURange{Min: -50, Max: 250}

// Editor is the tools' state machine for one session: the tool chosen,
// its settings, and the gesture going on. It is used from one goroutine
// (the UI's).
type Editor struct {
	s   *app.Session
	set Settings
	// OnBox hears a box drawn with the box tool: the plane and slice it
	// was drawn on and two opposite corners in voxel indices.
	OnBox func(plane viewer.Plane, slice int, a, b [3]int)
	// OnJob hears the job a SAM click (or taking one back) started, or
	// why none could start: the UI shows its progress and its errors.
	OnJob func(job *app.Job, err error)

	kind Kind

	// The brush stroke going on.
	stroke  *app.Stroke
	last    Point // where its last dab was
	stamp   stamp
	scratch []int

	// The polygon being drawn: its corners (on one plane and slice) and
	// the scan they are on.
	poly     []Point
	polyVol  *volume.Volume
	drawing  bool // the button is held: a drag adds corners
	boxing   bool
	boxFrom  Point
	boxTo    Point
	vol      *volume.Volume
	slicers  [3]viewer.Slicer
	strokeOf string // the name of the stroke's undo step
}

// New returns an editor on s with the navigate tool and default settings.
func New(s *app.Session) *Editor {
	return &Editor{s: s, set: Settings{Value: 5, SizeMM: DefaultSizeMM, HU: DefaultHU}}
}

// Tool returns the tool chosen.
func (e *Editor) Tool() Kind { return e.kind }

// SetTool chooses tool k; a gesture going on with another tool ends (a
// stroke is kept, a polygon or box not yet closed is dropped).
func (e *Editor) SetTool(k Kind) {
	if k == e.kind {
		return
	}
	e.finishStroke()
	e.poly, e.drawing, e.boxing = nil, false, false
	e.kind = k
}

// Settings returns the tools' settings.
func (e *Editor) Settings() Settings { return e.set }

// SetSettings changes the settings, for the next gesture. A size out of
// [MinSizeMM, MaxSizeMM] is clamped; an empty HU range is an error and
// changes nothing.
func (e *Editor) SetSettings(s Settings) error {
	if err := s.HU.Check(); err != nil {
		return err
	}
	if math.IsNaN(s.SizeMM) {
		return errors.New("brush size is not a number")
	}
	s.SizeMM = min(max(s.SizeMM, MinSizeMM), MaxSizeMM)
	e.set = s
	return nil
}

// Busy reports whether a gesture is going on: a stroke (the button held),
// a polygon not yet closed, a box being dragged.
func (e *Editor) Busy() bool { return e.stroke != nil || len(e.poly) > 0 || e.boxing }

// slicer returns the slicer of plane p for the open scan, and false when
// none is open.
func (e *Editor) slicer(p viewer.Plane) (viewer.Slicer, *volume.Volume, bool) {
	v, _ := e.s.Volume()
	if v == nil {
		return viewer.Slicer{}, nil, false
	}
	if v != e.vol {
		e.vol = v
		for _, q := range viewer.Planes {
			e.slicers[q] = viewer.NewSlicer(v.Grid, q)
		}
	}
	return e.slicers[p], v, true
}

// Press starts a gesture at p: a stroke's first dab, a polygon's corner,
// a fill, a box's corner. Navigate does nothing.
func (e *Editor) Press(p Point) error {
	switch e.kind {
	case Brush, Eraser, Threshold:
		return e.beginStroke(p)
	case Polygon:
		e.drawing = true
		return e.addCorner(p, true)
	case Fill:
		return e.fill(p)
	case Box:
		if _, _, ok := e.slicer(p.Plane); !ok {
			return app.ErrNoVolume
		}
		e.boxing, e.boxFrom, e.boxTo = true, p, p
	}
	return nil
}

// Drag continues a gesture to p with the button held: the brush paints
// along the way, a polygon gains corners (a lasso), a box grows.
func (e *Editor) Drag(p Point) error {
	switch e.kind {
	case Brush, Eraser, Threshold:
		return e.strokeTo(p)
	case Polygon:
		if e.drawing {
			return e.addCorner(p, false)
		}
	case Box:
		if e.boxing {
			e.boxTo = p
		}
	}
	return nil
}

// Release ends the gesture at p: a stroke becomes an undo step, a box goes
// to OnBox. A polygon stays open for more corners.
func (e *Editor) Release(p Point) error {
	switch e.kind {
	case Brush, Eraser, Threshold:
		if err := e.strokeTo(p); err != nil {
			e.stroke = nil
			return err
		}
		return e.finishStroke()
	case Polygon:
		e.drawing = false
	case Box:
		if e.boxing {
			e.boxTo = p
			return e.endBox()
		}
	}
	return nil
}

// DoubleClick closes the polygon being drawn; other tools ignore it.
func (e *Editor) DoubleClick(p Point) error {
	if e.kind == Polygon && len(e.poly) > 0 {
		return e.closePolygon()
	}
	return nil
}

// Key acts on k and reports whether the tool used it: Enter closes the
// polygon, Backspace removes its last corner, Escape cancels the polygon,
// the stroke (restoring what it painted) or the box going on.
func (e *Editor) Key(k Key) (bool, error) {
	switch k {
	case KeyEnter:
		if len(e.poly) > 0 {
			return true, e.closePolygon()
		}
	case KeyBackspace:
		if len(e.poly) > 0 {
			e.poly = e.poly[:len(e.poly)-1]
			return true, nil
		}
		if e.kind == Points && len(e.s.Clicks(e.set.Value)) > 0 {
			job, err := e.s.RemoveLastClick(e.set.Value)
			e.job(job, err)
			return true, err
		}
	case KeyEscape:
		switch {
		case e.stroke != nil:
			e.stroke.Cancel()
			e.stroke = nil
			return true, nil
		case len(e.poly) > 0:
			e.poly, e.drawing = nil, false
			return true, nil
		case e.boxing:
			e.boxing = false
			return true, nil
		}
	}
	return false, nil
}

// Overlay is what a view draws for the tools over a slice, in the slice's
// continuous display coordinates.
type Overlay struct {
	// Polygon lists the corners of the polygon being drawn on this slice.
	Polygon []Point
	// Box holds two opposite corners of the box being dragged, when
	// BoxOn.
	Box   [2]Point
	BoxOn bool
	// Clicks are the SAM clicks of the chosen segment on this slice,
	// waiting in the preview: drawn green (positive) or red (negative).
	Clicks []ClickMark
}

// ClickMark is a SAM click as a view draws it: the centre of its voxel in
// the slice's display coordinates.
type ClickMark struct {
	U, V     float64
	Positive bool
}

// Overlay returns what a view of plane p showing slice should draw.
func (e *Editor) Overlay(p viewer.Plane, slice int) Overlay {
	var o Overlay
	if len(e.poly) > 0 && e.poly[0].Plane == p && e.poly[0].Slice == slice {
		o.Polygon = append([]Point(nil), e.poly...)
	}
	if e.boxing && e.boxFrom.Plane == p && e.boxFrom.Slice == slice {
		o.Box, o.BoxOn = [2]Point{e.boxFrom, e.boxTo}, true
	}
	if p == viewer.Axial {
		if s, _, ok := e.slicer(p); ok {
			for _, c := range e.s.Clicks(e.set.Value) {
				n, u, v := s.Locate(c.Voxel[0], c.Voxel[1], c.Voxel[2])
				if n == slice {
					o.Clicks = append(o.Clicks, ClickMark{U: float64(u) + 0.5, V: float64(v) + 0.5, Positive: c.Positive})
				}
			}
		}
	}
	return o
}

// Click is a click with the points tool at p: positive ("this too") or
// negative ("not this"). SAM re-decodes the slice at once (app.Session.
// Click), the job going to OnJob. The points tool works on the axial
// view; other tools ignore Click.
func (e *Editor) Click(p Point, positive bool) error {
	if e.kind != Points {
		return nil
	}
	if p.Plane != viewer.Axial {
		return errors.New("SAM points work on the axial view: SAM segments axial slices")
	}
	s, _, ok := e.slicer(p.Plane)
	if !ok {
		return app.ErrNoVolume
	}
	w, h := s.Size()
	u, v := p.pixel()
	if u < 0 || v < 0 || u >= w || v >= h {
		return nil // beside the slice: nothing to click on
	}
	i, j, k := s.Voxel(p.Slice, u, v)
	job, err := e.s.Click(viewer.Axial, p.Slice, [3]int{i, j, k}, positive, e.set.Value)
	e.job(job, err)
	return err
}

func (e *Editor) job(job *app.Job, err error) {
	if e.OnJob != nil && (job != nil || err != nil) {
		e.OnJob(job, err)
	}
}

// endBox hands the box dragged to OnBox, its corners clamped into the
// slice; a box under two pixels across is taken for a click and dropped.
func (e *Editor) endBox() error {
	e.boxing = false
	a, b := e.boxFrom, e.boxTo
	if math.Abs(a.U-b.U) < 2 || math.Abs(a.V-b.V) < 2 || a.Plane != b.Plane {
		return nil
	}
	s, _, ok := e.slicer(a.Plane)
	if !ok {
		return app.ErrNoVolume
	}
	corner := func(p Point) [3]int {
		w, h := s.Size()
		u, v := p.pixel()
		i, j, k := s.Voxel(a.Slice, min(max(u, 0), w-1), min(max(v, 0), h-1))
		return [3]int{i, j, k}
	}
	if e.OnBox != nil {
		e.OnBox(a.Plane, a.Slice, corner(a), corner(b))
	}
	return nil
}

// PickHU sets the HU range from the scan around voxel p (the crosshair):
// the mean ± 2.5 standard deviations of the 5×5×5 voxels around it, and at
// least 20 HU wide, so that a click inside an organ picks that organ's
// range without its neighbours'. It returns the range set.
func (e *Editor) PickHU(p [3]int) (app.HURange, error) {
	var sum, sq float64
	n := 0
	e.s.Read(func(v *volume.Volume, _ *viewer.Overlay) {
		if v == nil {
			return
		}
		for k := p[2] - 2; k <= p[2]+2; k++ {
			for j := p[1] - 2; j <= p[1]+2; j++ {
				for i := p[0] - 2; i <= p[0]+2; i++ {
					if !v.Contains(i, j, k) {
						continue
					}
					x := float64(v.At(i, j, k))
					if math.IsNaN(x) || math.IsInf(x, 0) {
						continue
					}
					sum += x
					sq += x * x
					n++
				}
			}
		}
	})
	if n == 0 {
		return e.set.HU, errors.New("pick HU range: no scan values around the crosshair")
	}
	mean := sum / float64(n)
	sd := math.Sqrt(max(0, sq/float64(n)-mean*mean))
	half := max(2.5*sd, 10)
	r := app.HURange{Min: math.Floor(mean - half), Max: math.Ceil(mean + half)}
	e.set.HU = r
	return r, nil
}
