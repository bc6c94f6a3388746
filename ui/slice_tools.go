package ui

import (
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/app/tools"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// toolColor draws the tools' cursors: the brush outline and the polygon.
var toolColor = color.NRGBA{R: 255, G: 255, B: 255, A: 220}

// SAM clicks are drawn green ("this too") and red ("not this"), as in
// SAM's own demo and 3D Slicer's SAM tools.
var (
	clickPositive = color.NRGBA{R: 40, G: 220, B: 70, A: 255}
	clickNegative = color.NRGBA{R: 235, G: 40, B: 40, A: 255}
)

// clickRadius is a drawn click's radius in Fyne units.
const clickRadius = 4

// toolState is a view's side of the annotation tools: the editor its
// primary-button gestures go to while a tool other than Navigate is
// chosen, and the cursors it draws over the slice.
type toolState struct {
	editor  *tools.Editor
	onError func(error) // hears what a gesture could not do
	onDone  func()      // hears that a gesture ended (to update lists)

	pressed  bool // a gesture started here and the button is held
	hovering bool
	mouse    fyne.Position // last mouse position, widget coordinates

	layer  *fyne.Container // cursors: the brush outline, the polygon's lines
	brush  *canvas.Circle
	lines  []*canvas.Line
	clicks []*canvas.Circle // the SAM clicks on this slice

	// negative is set while a press that may become a negative SAM click
	// (right button, or Shift and the left button) is held: released
	// near where it began (within clickSlop), it is one; dragged, it is
	// the window or a pan.
	negative bool
	pressAt  fyne.Position
}

// clickSlop is how far, in Fyne units, a press may move and still be a
// click: a hand on a mouse jitters.
const clickSlop = 4

// SetEditor makes the view hand its primary-button gestures to e whenever
// e's tool is not Navigate (the other buttons, the wheel and the keys keep
// their meaning), onError hearing what a gesture could not do and onDone
// that a gesture ended.
func (v *SliceView) SetEditor(e *tools.Editor, onError func(error), onDone func()) {
	v.tool.editor, v.tool.onError, v.tool.onDone = e, onError, onDone
}

func (v *SliceView) toolActive() bool {
	return v.tool.editor != nil && v.tool.editor.Tool() != tools.Navigate
}

// toolPoint returns the tool position under pos (widget coordinates) on
// the crosshair's slice.
func (v *SliceView) toolPoint(pos fyne.Position) (tools.Point, bool) {
	s, ok := v.currentSlicer()
	if !ok {
		return tools.Point{}, false
	}
	v.mu.Lock()
	target, x, y := v.targetLocked(pos)
	vp := v.viewport
	v.mu.Unlock()
	fu, fv := vp.ScreenToSlice(target, s, x, y)
	c := v.session.Cursor()
	slice, _, _ := s.Locate(c[0], c[1], c[2])
	return tools.Point{Plane: v.plane, Slice: slice, U: fu, V: fv}, true
}

// toolEvent hands one event to the editor, reports its error and redraws
// the cursors.
func (v *SliceView) toolEvent(pos fyne.Position, do func(tools.Point) error) {
	p, ok := v.toolPoint(pos)
	if !ok {
		return
	}
	if err := do(p); err != nil && v.tool.onError != nil {
		v.tool.onError(err)
	}
	v.updateToolLayer()
}

// toolDown starts a gesture on a primary press without modifiers, and
// reports whether it did.
func (v *SliceView) toolDown(ev *desktop.MouseEvent) bool {
	if v.toolActive() && v.tool.editor.Tool() == tools.Points {
		switch {
		case ev.Button == desktop.MouseButtonPrimary && ev.Modifier == 0:
			// The click is the tool's: Tapped must not move the crosshair.
			v.dragged = true
			v.toolEvent(ev.Position, func(p tools.Point) error { return v.tool.editor.Click(p, true) })
			return true
		case ev.Button == desktop.MouseButtonSecondary,
			ev.Button == desktop.MouseButtonPrimary && ev.Modifier == fyne.KeyModifierShift:
			v.tool.negative, v.tool.pressAt = true, ev.Position
		}
		return false
	}
	if !v.toolActive() || ev.Button != desktop.MouseButtonPrimary || ev.Modifier != 0 {
		return false
	}
	// The click is the tool's: Tapped must not move the crosshair.
	v.dragged = true
	v.tool.pressed = true
	v.tool.mouse = ev.Position
	v.toolEvent(ev.Position, v.tool.editor.Press)
	return true
}

// toolMove continues a gesture while the button is held, and moves the
// brush outline; it reports whether the move was the tool's.
func (v *SliceView) toolMove(ev *desktop.MouseEvent) bool {
	v.tool.mouse, v.tool.hovering = ev.Position, true
	if !v.tool.pressed {
		v.updateToolLayer()
		return false
	}
	v.toolEvent(ev.Position, v.tool.editor.Drag)
	return true
}

// toolUp ends the gesture, and reports whether there was one. A right
// (or Shift and left) press released where it began is a negative SAM
// click with the points tool.
func (v *SliceView) toolUp(ev *desktop.MouseEvent) bool {
	if v.tool.negative {
		v.tool.negative = false
		dx, dy := ev.Position.X-v.tool.pressAt.X, ev.Position.Y-v.tool.pressAt.Y
		if dx*dx+dy*dy <= clickSlop*clickSlop && v.toolActive() && v.tool.editor.Tool() == tools.Points {
			v.dragged = true // not a tap on the crosshair
			v.toolEvent(ev.Position, func(p tools.Point) error { return v.tool.editor.Click(p, false) })
			return true
		}
	}
	if !v.tool.pressed {
		return false
	}
	v.tool.pressed = false
	v.toolEvent(ev.Position, v.tool.editor.Release)
	if v.tool.onDone != nil {
		v.tool.onDone()
	}
	return true
}

// toolOut ends a gesture whose button is still held as the mouse leaves
// the view: Fyne sends the release to no one then.
func (v *SliceView) toolOut() {
	v.tool.hovering = false
	if v.tool.pressed {
		v.toolUp(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: v.tool.mouse}, Button: desktop.MouseButtonPrimary})
	}
	v.updateToolLayer()
}

// toolDoubleTap hands a double-click to the tool (closing a polygon), and
// reports whether a tool is active (then the view does not maximise).
func (v *SliceView) toolDoubleTap(ev *fyne.PointEvent) bool {
	if !v.toolActive() {
		return false
	}
	v.toolEvent(ev.Position, v.tool.editor.DoubleClick)
	if v.tool.onDone != nil {
		v.tool.onDone()
	}
	return true
}

// newToolLayer makes the objects that draw the cursors.
func (v *SliceView) newToolLayer() {
	v.tool.brush = canvas.NewCircle(color.Transparent)
	v.tool.brush.StrokeColor = toolColor
	v.tool.brush.StrokeWidth = 1
	v.tool.brush.Hide()
	v.tool.layer = container.NewWithoutLayout(v.tool.brush)
}

// screenOf returns where display position (u, v) of the slice lies in the
// view, in widget coordinates.
func (v *SliceView) screenOf(s viewer.Slicer, u, w float64) fyne.Position {
	v.mu.Lock()
	target, _, _ := v.targetLocked(fyne.Position{})
	vp, k := v.viewport, v.pxScale
	v.mu.Unlock()
	x, y := vp.SliceToScreen(target, s, u, w)
	return fyne.NewPos(float32(x)/k, float32(y)/k)
}

// updateToolLayer draws the cursors: the brush outline (its size in mm, as
// the view's zoom shows it) under the mouse, the polygon being drawn on
// this slice, and the box being dragged.
func (v *SliceView) updateToolLayer() {
	if v.tool.layer == nil {
		return
	}
	e := v.tool.editor
	s, ok := v.currentSlicer()
	if e == nil || !ok {
		v.tool.brush.Hide()
		v.band.Hide()
		v.setLines(nil)
		v.setClicks(s, nil)
		return
	}
	if e.Tool().UsesBrush() && v.tool.hovering {
		v.mu.Lock()
		target, _, _ := v.targetLocked(fyne.Position{})
		kx, _ := v.viewport.ScreenPixelSize(target, s)
		k := v.pxScale
		v.mu.Unlock()
		du, _ := s.PixelSpacing()
		r := float32(e.Settings().SizeMM / 2 / du * kx / float64(k))
		p := v.tool.mouse
		v.tool.brush.Move(fyne.NewPos(p.X-r, p.Y-r))
		v.tool.brush.Resize(fyne.NewSize(2*r, 2*r))
		v.tool.brush.Show()
		v.tool.brush.Refresh()
	} else {
		v.tool.brush.Hide()
	}
	slice, _ := v.Slice()
	o := e.Overlay(v.plane, slice)
	var pts []fyne.Position
	for _, c := range o.Polygon {
		pts = append(pts, v.screenOf(s, c.U, c.V))
	}
	if len(pts) > 0 && v.tool.hovering {
		// The rubber line to the mouse shows where the next corner goes.
		pts = append(pts, v.tool.mouse)
	}
	v.setLines(pts)
	v.setClicks(s, o.Clicks)
	if o.BoxOn {
		a, b := v.screenOf(s, o.Box[0].U, o.Box[0].V), v.screenOf(s, o.Box[1].U, o.Box[1].V)
		v.band.Move(fyne.NewPos(min(a.X, b.X), min(a.Y, b.Y)))
		v.band.Resize(fyne.NewSize(float32(math.Abs(float64(b.X-a.X))), float32(math.Abs(float64(b.Y-a.Y)))))
		v.band.Show()
		v.band.Refresh()
	} else {
		v.band.Hide()
	}
}

// setClicks draws the SAM clicks on this slice.
func (v *SliceView) setClicks(s viewer.Slicer, marks []tools.ClickMark) {
	for len(v.tool.clicks) < len(marks) {
		c := canvas.NewCircle(clickPositive)
		c.StrokeColor = color.NRGBA{A: 200}
		c.StrokeWidth = 1
		v.tool.clicks = append(v.tool.clicks, c)
		v.tool.layer.Add(c)
	}
	for n, c := range v.tool.clicks {
		if n >= len(marks) {
			c.Hide()
			continue
		}
		m := marks[n]
		c.FillColor = clickPositive
		if !m.Positive {
			c.FillColor = clickNegative
		}
		p := v.screenOf(s, m.U, m.V)
		c.Move(fyne.NewPos(p.X-clickRadius, p.Y-clickRadius))
		c.Resize(fyne.NewSize(2*clickRadius, 2*clickRadius))
		c.Show()
		c.Refresh()
	}
}

// setLines draws the polyline through pts.
func (v *SliceView) setLines(pts []fyne.Position) {
	need := max(len(pts)-1, 0)
	for len(v.tool.lines) < need {
		l := canvas.NewLine(toolColor)
		l.StrokeWidth = 1.5
		v.tool.lines = append(v.tool.lines, l)
		v.tool.layer.Add(l)
	}
	for n, l := range v.tool.lines {
		if n >= need {
			l.Hide()
			continue
		}
		l.Position1, l.Position2 = pts[n], pts[n+1]
		l.Show()
		l.Refresh()
	}
}

// redrawDamage brings the last frame up to date when only label voxels of
// known extent changed since it was drawn (a paint stroke going on): it
// redraws the screen rectangle showing them on this slice, in place, and
// reports true; false means a whole render is needed. The lock is held.
func (v *SliceView) redrawDamage(key drawKey, s viewer.Slicer, slice int, win viewer.Window, cursor [3]int) bool {
	if v.out == nil || key.vp != v.drawn.vp || key.w != v.drawn.w || key.h != v.drawn.h {
		return false
	}
	box, ok := v.session.DamageSince(v.drawn.version)
	if !ok {
		return false
	}
	if _, pending := v.session.Preview(); pending {
		// The preview's outline lies over the labels: redraw it all.
		return false
	}
	r, ok := damageRect(box, s, slice, v.viewport, v.out.Bounds())
	if !ok {
		return true // nothing this view shows changed
	}
	var err error
	v.session.Read(func(vol *volume.Volume, layer *viewer.Overlay) {
		if vol != v.vol {
			err = app.ErrNoVolume
			return
		}
		err = viewer.RenderViewportRect(v.out, vol, s, slice, win, layer, v.viewport, r)
	})
	if err != nil {
		return false
	}
	_, cu, cv := s.Locate(cursor[0], cursor[1], cursor[2])
	viewer.DrawCrosshair(v.out, s, v.viewport, cu, cv, crosshairColor, r)
	return true
}

// damageRect returns the screen rectangle (of target) that shows the
// voxels of box on slice of s, with a margin for the outlines of their
// neighbours, and false when the slice does not cut the box.
func damageRect(box app.VoxelBox, s viewer.Slicer, slice int, vp viewer.Viewport, target image.Rectangle) (image.Rectangle, bool) {
	if box.Empty() {
		return image.Rectangle{}, false
	}
	s0, u0, v0 := s.Locate(box.Min[0], box.Min[1], box.Min[2])
	s1, u1, v1 := s.Locate(box.Max[0]-1, box.Max[1]-1, box.Max[2]-1)
	if slice < min(s0, s1) || slice > max(s0, s1) {
		return image.Rectangle{}, false
	}
	// Display pixels [umin, umax] changed; a pixel's outline depends on
	// its neighbours, so one more on each side.
	umin, umax := float64(min(u0, u1)-1), float64(max(u0, u1)+2)
	wmin, wmax := float64(min(v0, v1)-1), float64(max(v0, v1)+2)
	xa, ya := vp.SliceToScreen(target, s, umin, wmin)
	xb, yb := vp.SliceToScreen(target, s, umax, wmax)
	r := image.Rect(int(math.Floor(min(xa, xb)))-1, int(math.Floor(min(ya, yb)))-1,
		int(math.Ceil(max(xa, xb)))+1, int(math.Ceil(max(ya, yb)))+1)
	r = r.Intersect(target)
	return r, !r.Empty()
}
