package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Interaction constants: how far a right-drag moves the window, and how
// much one wheel notch or key press zooms.
const (
	windowPerPixel = 2.0 // HU of width (across) or level (down) per pixel dragged
	zoomStep       = 1.25
)

var crosshairColor = color.NRGBA{R: 255, G: 210, B: 0, A: 160}

// SliceView shows one plane of the session's scan, with the label overlay
// and the crosshair. It owns its zoom and pan; everything else (slice,
// window, overlay) is the session's, shared by the three views.
//
// Mouse: click or left-drag moves the crosshair, or, while an annotation
// tool is chosen (SetEditor), is the tool's gesture; wheel scrolls slices,
// ctrl+wheel zooms; right-drag changes the window (across: width, down:
// level); middle-drag or shift+left-drag pans; double-click maximises.
type SliceView struct {
	widget.BaseWidget

	session *app.Session
	plane   viewer.Plane

	// OnHover is called with what lies under the mouse (ok false when it
	// is outside the scan, or left the view), for the status line.
	OnHover func(p viewer.Probe, ok bool)
	// OnDoubleTap asks the window to maximise or restore this view; the
	// view's corner button asks the same.
	OnDoubleTap func()

	raster *canvas.Raster
	band   *canvas.Rectangle // the box being drawn, in widget coordinates
	tool   toolState         // the annotation tools' gestures and cursors (slice_tools.go)

	mu       sync.Mutex // guards what the raster's generator reads too
	viewport viewer.Viewport
	vol      *volume.Volume // the scan slicer was built for
	slicer   viewer.Slicer
	pxScale  float32     // raster pixels per Fyne unit, from the last draw
	drawn    drawKey     // what out shows
	out      *image.RGBA // the last frame given to the raster

	// State of the mouse button held down, if any.
	pressed  desktop.MouseButton
	modifier fyne.KeyModifier
	last     fyne.Position
	dragged  bool
}

// NewSliceView returns a view of plane p of the session's scan.
func NewSliceView(s *app.Session, p viewer.Plane) *SliceView {
	v := &SliceView{session: s, plane: p, pxScale: 1}
	v.raster = canvas.NewRaster(v.draw)
	v.band = canvas.NewRectangle(color.Transparent)
	v.band.StrokeColor = previewColor
	v.band.StrokeWidth = 1.5
	v.band.Hide()
	v.newToolLayer()
	v.ExtendBaseWidget(v)
	return v
}

// Plane returns the view's plane.
func (v *SliceView) Plane() viewer.Plane { return v.plane }

// Viewport returns the view's zoom and pan.
func (v *SliceView) Viewport() viewer.Viewport {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.viewport
}

// ResetView fits the slice to the view again.
func (v *SliceView) ResetView() {
	v.mu.Lock()
	v.viewport = viewer.Viewport{}
	v.mu.Unlock()
	v.Refresh()
}

// Slice returns the number of the slice shown and how many there are.
func (v *SliceView) Slice() (slice, n int) {
	s, ok := v.currentSlicer()
	if !ok {
		return 0, 0
	}
	c := v.session.Cursor()
	slice, _, _ = s.Locate(c[0], c[1], c[2])
	return slice, s.NumSlices()
}

// currentSlicer returns the slicer for the open scan, rebuilding it when
// another scan was opened (and resetting the zoom, which belonged to the
// old one).
func (v *SliceView) currentSlicer() (viewer.Slicer, bool) {
	vol, _ := v.session.Volume()
	v.mu.Lock()
	defer v.mu.Unlock()
	if vol == nil {
		return viewer.Slicer{}, false
	}
	if vol != v.vol {
		v.vol = vol
		v.slicer = viewer.NewSlicer(vol.Grid, v.plane)
		v.viewport = viewer.Viewport{}
	}
	return v.slicer, true
}

// StepSlice moves the crosshair by n slices of this view's plane.
func (v *SliceView) StepSlice(n int) {
	s, ok := v.currentSlicer()
	if !ok {
		return
	}
	c := v.session.Cursor()
	slice, u, w := s.Locate(c[0], c[1], c[2])
	slice = min(max(slice+n, 0), s.NumSlices()-1)
	i, j, k := s.Voxel(slice, u, w)
	v.session.SetCursor([3]int{i, j, k})
}

// Zoom zooms by factor about the view's centre.
func (v *SliceView) Zoom(factor float64) {
	sz := v.Size()
	v.zoomAbout(fyne.NewPos(sz.Width/2, sz.Height/2), factor)
}

func (v *SliceView) zoomAbout(pos fyne.Position, factor float64) {
	s, ok := v.currentSlicer()
	if !ok {
		return
	}
	v.mu.Lock()
	target, x, y := v.targetLocked(pos)
	v.viewport = v.viewport.ZoomAbout(target, s, x, y, factor)
	v.mu.Unlock()
	v.Refresh()
}

// targetLocked returns the raster's pixel rectangle and pos in its pixels.
func (v *SliceView) targetLocked(pos fyne.Position) (image.Rectangle, float64, float64) {
	sz := v.Size()
	k := v.pxScale
	target := image.Rect(0, 0, int(math.Round(float64(sz.Width*k))), int(math.Round(float64(sz.Height*k))))
	return target, float64(pos.X * k), float64(pos.Y * k)
}

// displayAt returns the display position (slice, u, w) under pos (widget
// coordinates) on the crosshair's slice, and whether it is in the scan.
func (v *SliceView) displayAt(pos fyne.Position) (s viewer.Slicer, slice, u, w int, ok bool) {
	s, ok = v.currentSlicer()
	if !ok {
		return s, 0, 0, 0, false
	}
	v.mu.Lock()
	target, x, y := v.targetLocked(pos)
	vp := v.viewport
	v.mu.Unlock()
	fu, fv := vp.ScreenToSlice(target, s, x, y)
	u, w = int(math.Floor(fu)), int(math.Floor(fv))
	c := v.session.Cursor()
	slice, _, _ = s.Locate(c[0], c[1], c[2])
	return s, slice, u, w, s.Contains(slice, u, w)
}

// voxelAt returns the voxel under pos (widget coordinates).
func (v *SliceView) voxelAt(pos fyne.Position) ([3]int, bool) {
	s, slice, u, w, ok := v.displayAt(pos)
	if !ok {
		return [3]int{}, false
	}
	i, j, k := s.Voxel(slice, u, w)
	return [3]int{i, j, k}, true
}

// probe returns what lies at display position (slice, u, w) of s.
func (v *SliceView) probe(s viewer.Slicer, slice, u, w int) viewer.Probe {
	var p viewer.Probe
	v.session.Read(func(vol *volume.Volume, layer *viewer.Overlay) {
		if vol != nil && vol.Grid.Equal(s.Grid(), 0) {
			p = viewer.ProbeAt(vol, layer, s, slice, u, w)
		}
	})
	return p
}

// ProbeCursor returns what lies at the crosshair, as this view shows it,
// and false when no scan is open.
func (v *SliceView) ProbeCursor() (viewer.Probe, bool) {
	s, ok := v.currentSlicer()
	if !ok {
		return viewer.Probe{}, false
	}
	c := v.session.Cursor()
	slice, u, w := s.Locate(c[0], c[1], c[2])
	return v.probe(s, slice, u, w), true
}

func (v *SliceView) setCursorAt(pos fyne.Position) {
	if p, ok := v.voxelAt(pos); ok {
		v.session.SetCursor(p)
	}
}

// CreateRenderer implements fyne.Widget.
func (v *SliceView) CreateRenderer() fyne.WidgetRenderer {
	// Views are black whatever the theme: their text is light.
	title := canvas.NewText("", color.NRGBA{R: 220, G: 220, B: 220, A: 255})
	title.TextSize = theme.CaptionTextSize()
	marks := make([]*canvas.Text, 4)
	l, r, t, b := v.plane.Edges()
	for n, s := range []string{l, r, t, b} {
		marks[n] = canvas.NewText(s, color.NRGBA{R: 255, G: 160, B: 40, A: 255})
		marks[n].TextStyle.Bold = true
	}
	bg := canvas.NewRectangle(color.Black)
	maximise := widget.NewButtonWithIcon("", theme.ViewFullScreenIcon(), v.toggleMaximised)
	maximise.Importance = widget.LowImportance
	return &sliceViewRenderer{view: v, bg: bg, title: title, marks: marks, maximise: maximise}
}

type sliceViewRenderer struct {
	view     *SliceView
	bg       *canvas.Rectangle
	title    *canvas.Text
	marks    []*canvas.Text // left, right, top, bottom
	maximise *widget.Button
}

func (r *sliceViewRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	r.view.raster.Resize(size)
	r.view.raster.Move(fyne.NewPos(0, 0))
	r.view.tool.layer.Resize(size)
	pad := theme.Padding()
	r.title.Move(fyne.NewPos(pad, pad))
	bs := r.maximise.MinSize()
	r.maximise.Resize(bs)
	r.maximise.Move(fyne.NewPos(size.Width-bs.Width, 0))
	for n, m := range r.marks {
		ms := m.MinSize()
		var p fyne.Position
		switch n {
		case 0:
			p = fyne.NewPos(pad, (size.Height-ms.Height)/2)
		case 1:
			p = fyne.NewPos(size.Width-ms.Width-pad, (size.Height-ms.Height)/2)
		case 2:
			p = fyne.NewPos((size.Width-ms.Width)/2, pad)
		case 3:
			p = fyne.NewPos((size.Width-ms.Width)/2, size.Height-ms.Height-pad)
		}
		m.Move(p)
		m.Resize(ms)
	}
}

func (r *sliceViewRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 120) }

func (r *sliceViewRenderer) Refresh() {
	slice, n := r.view.Slice()
	text := r.view.plane.String()
	if n > 0 {
		text = fmt.Sprintf("%s %d/%d", r.view.plane, slice+1, n)
	}
	if r.title.Text != text {
		r.title.Text = text
		r.title.Refresh()
	}
	r.view.raster.Refresh()
	r.view.updateToolLayer()
}

func (r *sliceViewRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.bg, r.view.raster, r.view.band, r.view.tool.layer, r.title, r.maximise}
	for _, m := range r.marks {
		objs = append(objs, m)
	}
	return objs
}

func (r *sliceViewRenderer) Destroy() {}

// drawKey is everything a frame depends on: the session's state (by its
// version), the view's and the raster's size.
type drawKey struct {
	version uint64
	vp      viewer.Viewport
	w, h    int
}

// draw is the raster's generator: it renders the current slice at the
// raster's pixel size w×h, or returns the last frame when nothing changed
// (Fyne calls it on every refresh of the window, not only of this view),
// or, when only label voxels changed (painting), redraws in the last frame
// the part showing them.
func (v *SliceView) draw(w, h int) image.Image {
	if w <= 0 || h <= 0 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	version := v.session.Version()
	s, ok := v.currentSlicer()
	cursor := v.session.Cursor()
	win := v.session.Window()

	v.mu.Lock()
	defer v.mu.Unlock()
	if sz := v.Size(); sz.Width > 0 {
		v.pxScale = float32(w) / sz.Width
	}
	key := drawKey{version: version, vp: v.viewport, w: w, h: h}
	if v.out != nil && key == v.drawn {
		return v.out
	}
	if ok && v.redrawDamage(key, s, cursorSlice(s, cursor), win, cursor) {
		v.drawn = key
		return v.out
	}
	v.drawn = key
	// A whole render gets a new image. Partial redraws (redrawDamage)
	// write into the last one: Fyne's painter copies a generator's image
	// into a texture before returning, on the thread that calls draw, so
	// no frame is read while it is written.
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	v.out = img
	if !ok {
		clearRGBA(img)
		return img
	}
	slice, cu, cv := s.Locate(cursor[0], cursor[1], cursor[2])
	vp := v.viewport
	var err error
	v.session.Read(func(vol *volume.Volume, layer *viewer.Overlay) {
		if vol != v.vol {
			// A new scan arrived after currentSlicer: draw nothing this
			// time; the change notification brings a new frame.
			clearRGBA(img)
			return
		}
		err = viewer.RenderViewport(img, vol, s, slice, win, layer, vp)
	})
	if err != nil {
		clearRGBA(img)
		fyne.LogError("render "+v.plane.String(), err)
	}
	v.session.ReadPreview(func(p *app.Proposal) {
		if p != nil && p.Grid().Equal(s.Grid(), 0) {
			if err := viewer.DrawOutlineAt(img, p.Grid(), p.At, s, slice, vp, previewColor); err != nil {
				fyne.LogError("preview "+v.plane.String(), err)
			}
		}
	})
	viewer.DrawCrosshair(img, s, vp, cu, cv, crosshairColor, img.Bounds())
	return img
}

// cursorSlice returns the slice of s through the crosshair.
func cursorSlice(s viewer.Slicer, cursor [3]int) int {
	slice, _, _ := s.Locate(cursor[0], cursor[1], cursor[2])
	return slice
}

func clearRGBA(img *image.RGBA) {
	for i := range img.Pix {
		img.Pix[i] = 0
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
}

// Tapped moves the crosshair to the tapped voxel.
func (v *SliceView) Tapped(ev *fyne.PointEvent) {
	if v.dragged {
		// The end of a pan or window drag, not a click.
		v.dragged = false
		return
	}
	v.setCursorAt(ev.Position)
}

// DoubleTapped maximises or restores the view, or, while a tool is
// chosen, is the tool's (closing a polygon).
func (v *SliceView) DoubleTapped(ev *fyne.PointEvent) {
	if v.toolDoubleTap(ev) {
		return
	}
	v.toggleMaximised()
}

func (v *SliceView) toggleMaximised() {
	if v.OnDoubleTap != nil {
		v.OnDoubleTap()
	}
}

// Scrolled steps through slices, or zooms with ctrl held.
func (v *SliceView) Scrolled(ev *fyne.ScrollEvent) {
	d := ev.Scrolled.DY
	if d == 0 {
		d = ev.Scrolled.DX
	}
	if d == 0 {
		return
	}
	if currentModifiers()&(fyne.KeyModifierControl|fyne.KeyModifierSuper) != 0 {
		f := zoomStep
		if d < 0 {
			f = 1 / zoomStep
		}
		v.zoomAbout(ev.Position, f)
		return
	}
	// Wheel up (positive) goes towards higher slice numbers: superior,
	// anterior, right, as the top of the screen in the other views.
	if d > 0 {
		v.StepSlice(1)
	} else {
		v.StepSlice(-1)
	}
}

// currentModifiers returns the keyboard modifiers held, where the driver
// can tell (a desktop one); fyne's test driver cannot, and reports none.
func currentModifiers() fyne.KeyModifier {
	a := fyne.CurrentApp()
	if a == nil {
		return 0
	}
	if d, ok := a.Driver().(desktop.Driver); ok {
		return d.CurrentKeyModifiers()
	}
	return 0
}

// MouseDown starts a click, a crosshair drag, a pan or a window drag.
func (v *SliceView) MouseDown(ev *desktop.MouseEvent) {
	v.pressed, v.modifier, v.last, v.dragged = ev.Button, ev.Modifier, ev.Position, false
	if v.toolDown(ev) {
		return
	}
	if ev.Button == desktop.MouseButtonPrimary && ev.Modifier == 0 {
		v.setCursorAt(ev.Position)
	}
}

// MouseUp ends what MouseDown started.
func (v *SliceView) MouseUp(ev *desktop.MouseEvent) {
	v.pressed = 0
	v.toolUp(ev)
}

// MouseIn implements desktop.Hoverable.
func (v *SliceView) MouseIn(ev *desktop.MouseEvent) {
	v.tool.mouse, v.tool.hovering = ev.Position, true
	v.updateToolLayer()
	v.hover(ev.Position)
}

// MouseOut implements desktop.Hoverable.
func (v *SliceView) MouseOut() {
	v.pressed = 0
	// The button may be released outside: a gesture ends at the edge.
	v.toolOut()
	if v.OnHover != nil {
		v.OnHover(viewer.Probe{}, false)
	}
}

// MouseMoved follows drags (fyne reports moves with the buttons held, so
// that right and middle drags, which it does not pass to Dragged, work)
// and reports the voxel under the mouse.
func (v *SliceView) MouseMoved(ev *desktop.MouseEvent) {
	dx, dy := ev.Position.X-v.last.X, ev.Position.Y-v.last.Y
	v.last = ev.Position
	if v.toolMove(ev) {
		v.hover(ev.Position)
		return
	}
	if v.pressed != 0 && ev.Button != 0 {
		switch {
		case v.pressed == desktop.MouseButtonSecondary:
			w := v.session.Window()
			w.Width += windowPerPixel * float64(dx)
			w.Level -= windowPerPixel * float64(dy)
			v.session.SetWindow(w)
			v.dragged = true
		case v.pressed == desktop.MouseButtonTertiary,
			v.pressed == desktop.MouseButtonPrimary && v.modifier&fyne.KeyModifierShift != 0:
			v.Pan(dx, dy)
			v.dragged = true
		case v.pressed == desktop.MouseButtonPrimary:
			v.setCursorAt(ev.Position)
		}
	}
	v.hover(ev.Position)
}

// Pan moves the slice by (dx, dy) Fyne units.
func (v *SliceView) Pan(dx, dy float32) {
	v.mu.Lock()
	v.viewport.PanX += float64(dx * v.pxScale)
	v.viewport.PanY += float64(dy * v.pxScale)
	v.mu.Unlock()
	v.Refresh()
}

func (v *SliceView) hover(pos fyne.Position) {
	if v.OnHover == nil {
		return
	}
	s, slice, u, w, ok := v.displayAt(pos)
	if !ok {
		v.OnHover(viewer.Probe{}, false)
		return
	}
	v.OnHover(v.probe(s, slice, u, w), true)
}

var (
	_ fyne.Tappable       = (*SliceView)(nil)
	_ fyne.DoubleTappable = (*SliceView)(nil)
	_ fyne.Scrollable     = (*SliceView)(nil)
	_ desktop.Mouseable   = (*SliceView)(nil)
	_ desktop.Hoverable   = (*SliceView)(nil)
)
