package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/render3d"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// planeColors are the slice planes' colours in the 3D view, as 3D Slicer
// colours its views: axial red, coronal green, sagittal yellow. A plane
// is a faint fill, so that the surfaces behind it show through, in a
// frame of its colour, so that it shows where it cuts.
var planeColors = [3]color.NRGBA{
	{R: 230, G: 60, B: 50, A: 255},
	{R: 90, G: 200, B: 70, A: 255},
	{R: 240, G: 210, B: 50, A: 255},
}

const (
	planeFill  = 28  // the fill's opacity, of 255
	planeFrame = 220 // the frame's
	// planeFrameWidth is the frame's width, as a fraction of the plane's
	// longer side.
	planeFrameWidth = 0.008
)

// slicePlanes returns the three slice planes of g through voxel c, each a
// faint quad in a frame of four thin ones.
func slicePlanes(g volume.Grid, c [3]float64) []render3d.Quad {
	var out []render3d.Quad
	for _, q := range render3d.SlicePlanes(g, c, planeColors) {
		col := q.Color
		fill := q
		fill.Color.A = planeFill
		out = append(out, fill)
		// The frame: a strip inside each edge, its width a fraction of
		// the longer side.
		p := q.Corners
		side := max(dist3(p[0], p[1]), dist3(p[1], p[2]))
		col.A = planeFrame
		for e := range 4 {
			a, b := p[e], p[(e+1)%4]
			// Towards the opposite edge, by the frame's width.
			in := sub3(p[(e+2)%4], b)
			l := dist3(p[(e+2)%4], b)
			if l == 0 {
				continue
			}
			d := scale3(in, planeFrameWidth*side/l)
			out = append(out, render3d.Quad{Corners: [4]render3d.Vec{a, b, add3(b, d), add3(a, d)}, Color: col})
		}
	}
	return out
}

func sub3(a, b render3d.Vec) render3d.Vec { return render3d.Vec{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func add3(a, b render3d.Vec) render3d.Vec { return render3d.Vec{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func scale3(a render3d.Vec, s float64) render3d.Vec {
	return render3d.Vec{a[0] * s, a[1] * s, a[2] * s}
}
func dist3(a, b render3d.Vec) float64 {
	d := sub3(a, b)
	return math.Sqrt(d[0]*d[0] + d[1]*d[1] + d[2]*d[2])
}

// orbitPerHeight is how far a drag across the view's height turns the
// scene: half a turn.
const orbitPerHeight = math.Pi

// View3D shows the segments' surfaces (app.Surfaces) as shaded surfaces
// in their colours, with the three slice planes through the crosshair if
// chosen, drawn by render3d.
//
// Mouse: drag turns the scene (a turntable: across about the patient's
// long axis, up and down about the screen's horizontal), wheel zooms,
// middle-drag or shift+drag pans, a click on a surface moves the
// crosshair there, double-click maximises. Home (ResetCamera) looks from
// the front with every visible surface in view.
//
// A frame is drawn only when what it shows changed: the surfaces, their
// colours or visibility, the camera, the planes (the crosshair, while they
// are shown) or the view's size.
type View3D struct {
	widget.BaseWidget

	session  *app.Session
	surfaces *app.Surfaces

	// OnDoubleTap asks the window to maximise or restore the view; the
	// corner button asks the same.
	OnDoubleTap func()
	// OnActive is called when the mouse comes over the view: keys act
	// on it from then on.
	OnActive func()

	raster *canvas.Raster

	mu       sync.Mutex // guards what the raster's generator reads too
	vol      *volume.Volume
	objects  map[uint16]*render3d.Object
	versions map[uint16]uint64 // the app.Surface version each object shows
	labels   []uint16          // scene.Objects' labels, in order
	scene    render3d.Scene
	sceneVer uint64 // counts changes of the scene's objects
	cam      render3d.Camera
	// moved says that the user turned, zoomed or panned the camera since
	// the scan opened or Home: surfaces arriving no longer refit it.
	moved   bool
	planes  bool
	rend    render3d.Renderer
	out     *image.RGBA
	drawn   view3DKey
	pxScale float32
	frames  int // frames rendered, for tests

	pressed  desktop.MouseButton
	modifier fyne.KeyModifier
}

// view3DKey is everything a frame depends on.
type view3DKey struct {
	scene  uint64
	cam    render3d.Camera
	planes bool
	cursor [3]int // only while the planes are shown
	w, h   int
}

// NewView3D returns the 3D view of the session's surfaces, starting them.
func NewView3D(s *app.Session) *View3D {
	v := &View3D{session: s, objects: map[uint16]*render3d.Object{}, versions: map[uint16]uint64{},
		cam: render3d.NewCamera(), planes: true, pxScale: 1}
	v.rend.Background = color.RGBA{A: 255}
	v.raster = canvas.NewRaster(v.draw)
	v.ExtendBaseWidget(v)
	v.surfaces = s.Surfaces(app.SurfaceOptions{OnUpdate: v.surfacesChanged})
	return v
}

// Camera returns the view's camera.
func (v *View3D) Camera() render3d.Camera {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cam
}

// ShowPlanes shows or hides the three slice planes.
func (v *View3D) ShowPlanes(on bool) {
	v.mu.Lock()
	v.planes = on
	v.mu.Unlock()
	v.Refresh()
}

// PlanesShown reports whether the slice planes are shown.
func (v *View3D) PlanesShown() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.planes
}

// ResetCamera looks from the front again, with every visible surface (or
// the whole scan, when none is) in view, and lets new surfaces refit it.
func (v *View3D) ResetCamera() {
	v.mu.Lock()
	v.moved = false
	v.fitLocked()
	v.mu.Unlock()
	v.Refresh()
}

// fitLocked points the camera at the visible surfaces from the front;
// v.mu is held.
func (v *View3D) fitLocked() {
	objs := render3d.Scene{Objects: v.scene.Objects}
	lo, hi, ok := objs.Bounds()
	if !ok && v.vol != nil {
		// No surface: the scan's box, so that the planes are in view.
		lo, hi = gridBounds(v.vol.Grid)
		ok = true
	}
	if !ok {
		v.cam = render3d.NewCamera()
		return
	}
	fov, ortho := v.cam.FOV, v.cam.Ortho
	v.cam = render3d.NewCamera()
	v.cam.FOV, v.cam.Ortho = fov, ortho
	v.cam.Reset(lo, hi)
}

// gridBounds returns the world box of a grid's voxel centres' corners.
func gridBounds(g volume.Grid) (lo, hi render3d.Vec) {
	lo = render3d.Vec{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = render3d.Vec{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for c := range 8 {
		i, j, k := -0.5, -0.5, -0.5
		if c&1 != 0 {
			i = float64(g.Dims[0]) - 0.5
		}
		if c&2 != 0 {
			j = float64(g.Dims[1]) - 0.5
		}
		if c&4 != 0 {
			k = float64(g.Dims[2]) - 0.5
		}
		x, y, z := g.Affine.Apply(i, j, k)
		for a, w := range [3]float64{x, y, z} {
			lo[a], hi[a] = min(lo[a], w), max(hi[a], w)
		}
	}
	return lo, hi
}

// surfacesChanged hears new, replaced or removed surfaces (labels nil:
// all of them went, a new scan), on the surfaces' goroutine: the objects
// (their normals) are made there, off Fyne's thread.
func (v *View3D) surfacesChanged(labels []uint16) {
	vol, _ := v.session.Volume()
	if labels == nil {
		v.mu.Lock()
		clear(v.objects)
		clear(v.versions)
		v.vol = vol
		v.moved = false
		v.rebuildLocked()
		v.mu.Unlock()
		fyne.Do(v.Refresh)
		return
	}
	type update struct {
		label   uint16
		obj     *render3d.Object
		version uint64
	}
	var ups []update
	for _, l := range labels {
		sf, ok := v.surfaces.Get(l)
		u := update{label: l}
		if ok {
			u.obj, u.version = render3d.NewObject(sf.Mesh), sf.Version
		}
		ups = append(ups, u)
	}
	v.mu.Lock()
	if v.vol != vol {
		clear(v.objects)
		clear(v.versions)
		v.vol = vol
		v.moved = false
	}
	for _, u := range ups {
		switch {
		case u.obj == nil:
			delete(v.objects, u.label)
			delete(v.versions, u.label)
		case u.version > v.versions[u.label]:
			// Two updates of one label may cross (the raw surface shown
			// by a timer as the smoothed one is published): the newer
			// surface wins.
			v.objects[u.label], v.versions[u.label] = u.obj, u.version
		}
	}
	v.rebuildLocked()
	v.mu.Unlock()
	fyne.Do(v.Refresh)
}

// overlayChanged takes the segments' colours and visibility again.
func (v *View3D) overlayChanged() {
	v.mu.Lock()
	changed := v.styleLocked()
	v.mu.Unlock()
	if changed {
		v.Refresh()
	}
}

// rebuildLocked makes the scene's objects from v.objects, in label order,
// and refits the camera unless the user moved it; v.mu is held.
func (v *View3D) rebuildLocked() {
	v.labels = v.labels[:0]
	for l := range v.objects {
		v.labels = append(v.labels, l)
	}
	slices.Sort(v.labels)
	v.scene.Objects = v.scene.Objects[:0]
	for _, l := range v.labels {
		v.scene.Objects = append(v.scene.Objects, v.objects[l])
	}
	v.styleLocked()
	v.sceneVer++
	if !v.moved {
		v.fitLocked()
	}
}

// styleLocked gives each object its segment's colour and visibility from
// the session and reports whether any changed; v.mu is held, and the
// session's read lock is taken inside (never the other way round).
func (v *View3D) styleLocked() bool {
	changed := false
	v.session.Read(func(_ *volume.Volume, o *viewer.Overlay) {
		for n, l := range v.labels {
			obj := v.scene.Objects[n]
			c := o.Table.Color(l)
			c.A = 255
			vis := !o.Hidden[l]
			if obj.Color != c || obj.Visible != vis {
				obj.Color, obj.Visible = c, vis
				changed = true
			}
		}
	})
	if changed {
		v.sceneVer++
	}
	return changed
}

// CreateRenderer implements fyne.Widget.
func (v *View3D) CreateRenderer() fyne.WidgetRenderer {
	title := canvas.NewText("3D", color.NRGBA{R: 220, G: 220, B: 220, A: 255})
	title.TextSize = theme.CaptionTextSize()
	stats := canvas.NewText("", color.NRGBA{R: 220, G: 220, B: 220, A: 255})
	stats.TextSize = theme.CaptionTextSize()
	maximise := widget.NewButtonWithIcon("", theme.ViewFullScreenIcon(), func() {
		if v.OnDoubleTap != nil {
			v.OnDoubleTap()
		}
	})
	maximise.Importance = widget.LowImportance
	return &view3DRenderer{v: v, bg: canvas.NewRectangle(color.Black), title: title, stats: stats, maximise: maximise}
}

type view3DRenderer struct {
	v            *View3D
	bg           *canvas.Rectangle
	title, stats *canvas.Text
	maximise     *widget.Button
}

func (r *view3DRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	r.v.raster.Resize(size)
	r.v.raster.Move(fyne.NewPos(0, 0))
	pad := theme.Padding()
	r.title.Move(fyne.NewPos(pad, pad))
	bs := r.maximise.MinSize()
	r.maximise.Resize(bs)
	r.maximise.Move(fyne.NewPos(size.Width-bs.Width, 0))
	ss := r.stats.MinSize()
	r.stats.Resize(ss)
	r.stats.Move(fyne.NewPos(pad, size.Height-ss.Height-pad))
}

func (r *view3DRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 120) }

func (r *view3DRenderer) Refresh() {
	if text := r.v.StatsText(); r.stats.Text != text {
		r.stats.Text = text
		r.stats.Refresh()
		r.Layout(r.v.Size())
	}
	// A raster refreshed is drawn and uploaded again even when its
	// generator returns the same image: only when the frame is stale.
	if r.v.stale() {
		r.v.raster.Refresh()
	}
}

func (r *view3DRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.bg, r.v.raster, r.title, r.stats, r.maximise}
}

func (r *view3DRenderer) Destroy() {}

// StatsText is what the view's corner says of the chosen segment: its
// volume (mL) and the area of its surface (mm²), as mesh.Measure gives
// them.
func (v *View3D) StatsText() string {
	l := v.session.ActiveLabel()
	if vol, _ := v.session.Volume(); vol == nil || l == 0 {
		return ""
	}
	seg := v.session.SegmentOf(l)
	sf, ok := v.surfaces.Get(l)
	if !ok {
		if seg.Voxels == 0 {
			return seg.Name + ": empty"
		}
		return seg.Name + ": meshing…"
	}
	text := fmt.Sprintf("%s: %.1f mL, %.0f mm²", seg.Name, sf.VolumeML, sf.AreaMM2)
	if sf.Preview {
		text += " (with the preview)"
	}
	return text
}

// Frames returns how many frames the view has rendered.
func (v *View3D) Frames() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.frames
}

// draw is the raster's generator: it renders the scene at w×h pixels, or
// returns the last frame when nothing it shows changed (Fyne calls it on
// every refresh of the window, not only of this view).
func (v *View3D) draw(w, h int) image.Image {
	if w <= 0 || h <= 0 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	cursor := v.session.Cursor()
	v.mu.Lock()
	defer v.mu.Unlock()
	if sz := v.Size(); sz.Width > 0 {
		v.pxScale = float32(w) / sz.Width
	}
	v.renderLocked(w, h, cursor)
	return v.out
}

// keyLocked is what a frame of w×h pixels would show now; v.mu is held.
func (v *View3D) keyLocked(w, h int, cursor [3]int) view3DKey {
	key := view3DKey{scene: v.sceneVer, cam: v.cam, planes: v.planes && v.vol != nil, w: w, h: h}
	if key.planes {
		key.cursor = cursor
	}
	return key
}

// stale reports whether the last frame differs from what the view would
// show now, at its size.
func (v *View3D) stale() bool {
	cursor := v.session.Cursor()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.out == nil || v.keyLocked(v.drawn.w, v.drawn.h, cursor) != v.drawn
}

// renderLocked renders a frame into v.out unless the last one shows the
// same; v.mu is held.
func (v *View3D) renderLocked(w, h int, cursor [3]int) {
	key := v.keyLocked(w, h, cursor)
	if v.out != nil && key == v.drawn {
		return
	}
	v.drawn = key
	// Fyne's painter copies a generator's image into a texture before it
	// returns, so the same image can be drawn into again.
	if v.out == nil || v.out.Bounds().Dx() != w || v.out.Bounds().Dy() != h {
		v.out = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	v.scene.Quads = nil
	if key.planes {
		c := [3]float64{float64(cursor[0]), float64(cursor[1]), float64(cursor[2])}
		v.scene.Quads = slicePlanes(v.vol.Grid, c)
	}
	v.rend.Render(v.out, &v.scene, &v.cam)
	v.frames++
}

// Tapped moves the crosshair to the surface point under the mouse.
func (v *View3D) Tapped(ev *fyne.PointEvent) {
	cursor := v.session.Cursor()
	v.mu.Lock()
	if v.vol == nil || v.out == nil {
		v.mu.Unlock()
		return
	}
	// Picking reads the last frame: bring it up to date first.
	b := v.out.Bounds()
	v.renderLocked(b.Dx(), b.Dy(), cursor)
	x, y := int(ev.Position.X*v.pxScale), int(ev.Position.Y*v.pxScale)
	hit, ok := v.rend.Pick(x, y)
	var label uint16
	if ok {
		label = v.labels[hit.Object]
	}
	vol := v.vol
	v.mu.Unlock()
	if !ok {
		return
	}
	var p [3]int
	found := false
	v.session.Read(func(cur *volume.Volume, o *viewer.Overlay) {
		if cur == vol && o.Labels != nil {
			p, found = voxelOf(o.Labels, label, hit.Point)
		}
	})
	if found {
		v.session.SetCursor(p)
	}
}

// voxelOf returns the voxel of label nearest world point p of its
// surface, among the voxels around p: the crosshair lands in the segment
// clicked, not on the background beside it (the surface runs between
// voxel centres, and smoothing moves it by up to about half a voxel). A
// point with no voxel of label around it (a surface that changed since
// the frame) gives the voxel nearest p.
func voxelOf(l *volume.Labels, label uint16, p render3d.Vec) ([3]int, bool) {
	inv, err := l.Affine.Inverse()
	if err != nil {
		return [3]int{}, false
	}
	fi, fj, fk := inv.Apply(p[0], p[1], p[2])
	c := [3]int{int(math.Round(fi)), int(math.Round(fj)), int(math.Round(fk))}
	best, bestD := c, math.Inf(1)
	for dk := -1; dk <= 1; dk++ {
		for dj := -1; dj <= 1; dj++ {
			for di := -1; di <= 1; di++ {
				i, j, k := c[0]+di, c[1]+dj, c[2]+dk
				if !l.Contains(i, j, k) || l.At(i, j, k) != label {
					continue
				}
				x, y, z := l.Affine.Apply(float64(i), float64(j), float64(k))
				if d := dist3(render3d.Vec{x, y, z}, p); d < bestD {
					best, bestD = [3]int{i, j, k}, d
				}
			}
		}
	}
	return best, true
}

// DoubleTapped maximises or restores the view.
func (v *View3D) DoubleTapped(*fyne.PointEvent) {
	if v.OnDoubleTap != nil {
		v.OnDoubleTap()
	}
}

// Dragged turns the scene, or pans it with the middle button or shift.
func (v *View3D) Dragged(ev *fyne.DragEvent) {
	v.mu.Lock()
	h := float64(v.Size().Height)
	if h <= 0 {
		v.mu.Unlock()
		return
	}
	dx, dy := float64(ev.Dragged.DX), float64(ev.Dragged.DY)
	if v.pressed == desktop.MouseButtonTertiary || v.modifier&fyne.KeyModifierShift != 0 {
		k := float64(v.pxScale)
		v.cam.Pan(dx*k, dy*k, int(math.Round(float64(v.Size().Width)*k)), int(math.Round(h*k)))
	} else {
		v.cam.Orbit(orbitPerHeight*dx/h, orbitPerHeight*dy/h)
	}
	v.moved = true
	v.mu.Unlock()
	v.Refresh()
}

// DragEnd implements fyne.Draggable.
func (v *View3D) DragEnd() {}

// Scrolled zooms: up brings the scene closer.
func (v *View3D) Scrolled(ev *fyne.ScrollEvent) {
	d := ev.Scrolled.DY
	if d == 0 {
		d = ev.Scrolled.DX
	}
	if d == 0 {
		return
	}
	f := zoomStep
	if d < 0 {
		f = 1 / zoomStep
	}
	v.Zoom(f)
}

// Zoom brings the camera factor times closer.
func (v *View3D) Zoom(factor float64) {
	v.mu.Lock()
	v.cam.Zoom(factor)
	v.moved = true
	v.mu.Unlock()
	v.Refresh()
}

// MouseDown notes the button, which decides what a drag does (Fyne
// passes left and middle drags to Dragged without it).
func (v *View3D) MouseDown(ev *desktop.MouseEvent) {
	v.mu.Lock()
	v.pressed, v.modifier = ev.Button, ev.Modifier
	v.mu.Unlock()
}

// MouseUp implements desktop.Mouseable.
func (v *View3D) MouseUp(*desktop.MouseEvent) {
	v.mu.Lock()
	v.pressed, v.modifier = 0, 0
	v.mu.Unlock()
}

// MouseIn makes the view the one keys act on.
func (v *View3D) MouseIn(*desktop.MouseEvent) {
	if v.OnActive != nil {
		v.OnActive()
	}
}

// MouseMoved implements desktop.Hoverable.
func (v *View3D) MouseMoved(*desktop.MouseEvent) {}

// MouseOut implements desktop.Hoverable.
func (v *View3D) MouseOut() {}

var (
	_ fyne.Tappable       = (*View3D)(nil)
	_ fyne.DoubleTappable = (*View3D)(nil)
	_ fyne.Draggable      = (*View3D)(nil)
	_ fyne.Scrollable     = (*View3D)(nil)
	_ desktop.Mouseable   = (*View3D)(nil)
	_ desktop.Hoverable   = (*View3D)(nil)
)
