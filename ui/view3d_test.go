package ui

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// openPatientA3D opens patient A and waits until the 3D view has every
// segment's surface.
func openPatientA3D(t *testing.T) *MainWindow {
	t.Helper()
	m := openPatientA(t)
	waitSurfaces(t, m)
	return m
}

func waitSurfaces(t *testing.T, m *MainWindow) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := m.view3d.surfaces.WaitIdle(ctx); err != nil {
		t.Fatalf("surfaces not made: %v", err)
	}
	settle() // the window hears of them
}

// captureObject renders the window and returns the part covered by o.
func captureObject(m *MainWindow, o fyne.CanvasObject) *image.RGBA {
	relayout(m.Window().Canvas()) // as the driver does before a frame
	img := m.Window().Canvas().Capture()
	pos := at(o, fyne.Position{})
	sc := m.Window().Canvas().Scale()
	r := image.Rect(int(pos.X*sc), int(pos.Y*sc), int((pos.X+o.Size().Width)*sc), int((pos.Y+o.Size().Height)*sc))
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			out.Set(x, y, img.At(r.Min.X+x, r.Min.Y+y))
		}
	}
	return out
}

func centreOfObject(o fyne.CanvasObject) fyne.Position {
	return at(o, fyne.NewPos(o.Size().Width/2, o.Size().Height/2))
}

// lit counts the pixels that are not the background's black.
func lit(img *image.RGBA) int {
	n := 0
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i]|img.Pix[i+1]|img.Pix[i+2] > 16 {
			n++
		}
	}
	return n
}

// The 3D view through Fyne's test driver: it shows every segment's
// surface; a drag turns it (the picture changes), the wheel zooms, Home
// brings back the first picture; a click on a surface puts the crosshair
// on the point clicked and the slice views follow; a double click
// maximises it; and it renders only when what it shows changed.
func TestView3DGestures(t *testing.T) {
	m := openPatientA3D(t)
	v := m.view3d
	v.ShowPlanes(false)

	v.mu.Lock()
	objects := len(v.scene.Objects)
	v.mu.Unlock()
	if want := len(m.session.PresentLabels()); objects != want {
		t.Fatalf("the 3D view shows %d surfaces of %d segments", objects, want)
	}
	first := captureObject(m, v)
	if n := lit(first); n < first.Bounds().Dx()*first.Bounds().Dy()/20 {
		t.Fatalf("only %d pixels of the 3D view show something", n)
	}
	cam0 := v.Camera()

	drag(m, desktop.MouseButtonPrimary, 0, centreOfObject(v), centreOfObject(v).AddXY(60, 0))
	turned := captureObject(m, v)
	if v.Camera().Orientation == cam0.Orientation || !differs(first, turned) {
		t.Error("a drag did not turn the 3D view")
	}
	scroll(m, centreOfObject(v), 0, 10)
	if d := v.Camera().Distance; d >= cam0.Distance {
		t.Errorf("wheel up left the camera %.0f mm away (was %.0f)", d, cam0.Distance)
	}
	if !differs(turned, captureObject(m, v)) {
		t.Error("zooming did not change the picture")
	}
	mouseMove(m, centreOfObject(v)) // keys go to the view under the mouse
	typeKey(m, fyne.KeyHome)
	if v.Camera() != cam0 {
		t.Errorf("Home: camera %+v, first %+v", v.Camera(), cam0)
	}
	if differs(first, captureObject(m, v)) {
		t.Error("after Home the 3D view differs from its first picture")
	}

	// Nothing new to show, no new frame: not for another capture, nor
	// for the crosshair while the planes are hidden, nor for the window.
	frames := v.Frames()
	captureObject(m, v)
	m.session.SetCursor([3]int{10, 10, 10})
	m.session.SetWindow(viewer.Window{Width: 1500, Level: -600})
	captureObject(m, v)
	if got := v.Frames(); got != frames {
		t.Errorf("%d frames rendered with nothing new to show", got-frames)
	}
	v.ShowPlanes(true)
	captureObject(m, v)
	m.session.SetCursor([3]int{20, 20, 20})
	captureObject(m, v)
	if got := v.Frames(); got != frames+2 {
		t.Errorf("%d frames for showing the planes and moving the crosshair, want 2", got-frames)
	}
	v.ShowPlanes(false)

	// A click on a surface: where the view's ray meets the scene.
	vol, _ := m.session.Volume()
	var at3 [][2]float32
	for y := float32(0.2); y < 0.85; y += 0.1 {
		for x := float32(0.2); x < 0.85; x += 0.1 {
			at3 = append(at3, [2]float32{x, y})
		}
	}
	hits := 0
	for _, frac := range at3 {
		// The pixel of the frame under the tap, as the view maps it.
		pos := fyne.NewPos(v.Size().Width*frac[0], v.Size().Height*frac[1])
		v.mu.Lock()
		px, py := float64(int(pos.X*v.pxScale))+0.5, float64(int(pos.Y*v.pxScale))+0.5
		w, h := v.out.Bounds().Dx(), v.out.Bounds().Dy()
		o, d := v.cam.Ray(px, py, w, h)
		hit, ok := v.scene.Raycast(o, d)
		label := uint16(0)
		if ok {
			label = v.labels[hit.Object]
		}
		v.mu.Unlock()
		if !ok {
			continue // background there
		}
		hits++
		click(m, at(v, pos))
		cur := m.session.Cursor()
		x, y, z := vol.Affine.Apply(float64(cur[0]), float64(cur[1]), float64(cur[2]))
		sp := vol.Spacing()
		for a, got := range [3]float64{x, y, z} {
			if math.Abs(got-hit.Point[a]) > sp[a] {
				t.Errorf("click at %v: crosshair at %v (%.1f %.1f %.1f mm), %.1f mm from the surface point %.1f along axis %d",
					frac, cur, x, y, z, math.Abs(got-hit.Point[a]), hit.Point, a)
			}
		}
		if got := labelAt(m, cur); got != label {
			t.Errorf("click on label %d's surface put the crosshair on label %d", label, got)
		}
		for _, p := range viewer.Planes {
			if got, _ := m.View(p).Slice(); got != mustLocate(m, p) {
				t.Errorf("the %s view shows slice %d, not the crosshair's", p, got)
			}
		}
	}

	if hits < 20 {
		t.Errorf("only %d of %d points of the view showed a surface", hits, len(at3))
	}

	doubleClick(m, centreOfObject(v))
	if !m.Maximised3D() || len(m.grid.Objects) != 1 || m.grid.Objects[0] != v {
		t.Fatalf("double click: 3D maximised %v, %d cells", m.Maximised3D(), len(m.grid.Objects))
	}
	big := v.Size()
	typeKey(m, fyne.KeyEscape)
	if m.Maximised3D() || len(m.grid.Objects) != 4 {
		t.Error("Esc did not restore the four views")
	}
	if small := v.Size(); small.Width >= big.Width || small.Height >= big.Height {
		t.Errorf("the 3D view is %v among four, %v maximised", small, big)
	}
	mouseMove(m, centreOfObject(v))
	typeKey(m, fyne.KeyF)
	if !m.Maximised3D() {
		t.Error("F over the 3D view did not maximise it")
	}
	typeKey(m, fyne.KeyF)
	if m.Maximised3D() {
		t.Error("F again did not restore the views")
	}
}

func labelAt(m *MainWindow, p [3]int) uint16 {
	var out uint16
	m.session.Read(func(_ *volume.Volume, l *viewer.Overlay) { out = l.Labels.At(p[0], p[1], p[2]) })
	return out
}

// The corner shows the chosen segment's volume and surface area as
// mesh.Measure gives them, after an edit too; the surface follows the
// edit, and hiding a segment takes it out of the picture.
func TestView3DStatsFollowEdits(t *testing.T) {
	m := openPatientA3D(t)
	v := m.view3d
	v.ShowPlanes(false)
	segs := m.sidebar.segments
	tapRow(t, m, slices.IndexFunc(segs.segs, func(s app.Segment) bool { return s.Value == liver }))
	if got := m.session.ActiveLabel(); got != liver {
		t.Fatalf("chosen segment %d, want the liver", got)
	}
	want := func() string {
		st, err := mesh.Measure(context.Background(), labelsNow(m), []uint16{liver})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("liver: %.1f mL, %.0f mm²", st[0].VolumeML, st[0].SurfaceMM2)
	}
	// What the corner shows on screen.
	corner := func() string {
		v.Refresh()
		texts := find(v, func(o fyne.CanvasObject) bool {
			x, ok := o.(*canvas.Text)
			return ok && strings.Contains(x.Text, "mL")
		})
		if len(texts) != 1 {
			t.Fatalf("%d texts with mL in the 3D view", len(texts))
		}
		return texts[0].(*canvas.Text).Text
	}
	if got, w := corner(), want(); got != w {
		t.Errorf("corner %q, want %q", got, w)
	}
	before := captureObject(m, v)

	// Erase a ball of the liver at the crosshair.
	moveToLiver(t, m)
	vol, _ := m.session.Volume()
	cur := m.session.Cursor()
	var idx []int
	for k := cur[2] - 4; k <= cur[2]+4; k++ {
		for j := cur[1] - 4; j <= cur[1]+4; j++ {
			for i := cur[0] - 4; i <= cur[0]+4; i++ {
				if vol.Grid.Contains(i, j, k) && (i-cur[0])*(i-cur[0])+(j-cur[1])*(j-cur[1])+(k-cur[2])*(k-cur[2]) <= 16 {
					idx = append(idx, vol.Grid.Index(i, j, k))
				}
			}
		}
	}
	if n, err := m.session.Paint("Erase", idx, 0); err != nil || n == 0 {
		t.Fatalf("erasing changed %d voxels: %v", n, err)
	}
	waitSurfaces(t, m)
	if got, w := corner(), want(); got != w {
		t.Errorf("after erasing: corner %q, want %q", got, w)
	}

	// Hide everything but the liver: the picture is the liver alone.
	for _, s := range m.session.PresentLabels() {
		if s.Value != liver {
			m.session.SetHidden(s.Value, true)
		}
	}
	settle()
	alone := captureObject(m, v)
	if !differs(before, alone) {
		t.Fatal("hiding every other segment did not change the picture")
	}
	// Every pixel drawn is a shade of the liver's colour (the headlight
	// scales it), but for the corners' writing and the cell's border.
	lc := assets.DefaultColorTable().Color(liver)
	b := alone.Bounds()
	shaded, other := 0, 0
	for y := b.Min.Y + 30; y < b.Max.Y-30; y++ {
		for x := b.Min.X + 4; x < b.Max.X-4; x++ {
			p := alone.Pix[alone.PixOffset(x, y):][:3]
			if p[0]|p[1]|p[2] <= 16 {
				continue
			}
			k := float64(p[0]) / float64(lc.R)
			if math.Abs(float64(p[1])-k*float64(lc.G)) <= 4 && math.Abs(float64(p[2])-k*float64(lc.B)) <= 4 {
				shaded++
			} else {
				other++
			}
		}
	}
	if shaded < 1000 || other > 0 {
		t.Errorf("with the liver alone shown: %d pixels of its colour, %d of others", shaded, other)
	}
}

func labelsNow(m *MainWindow) *volume.Labels {
	var out *volume.Labels
	m.session.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		out = &volume.Labels{Grid: l.Labels.Grid, Data: append([]uint16(nil), l.Labels.Data...)}
	})
	return out
}

// File > Export surfaces: the form's answers become what `polyseg mesh`
// takes, and the chosen segment is written as a PLY file named after it.
func TestExportSurfacesDialog(t *testing.T) {
	m := openPatientA(t)
	var got *app.SurfaceExport
	m.onSurfaceExport = func(e app.SurfaceExport) { got = &e }
	fileMenuItem(t, m, "Export surfaces…").Action()
	over := m.Window().Canvas().Overlays().Top()
	if over == nil {
		t.Fatal("no dialog")
	}
	var selects []*widget.Select
	var entries []*widget.Entry
	var radios []*widget.RadioGroup
	var chooseFile *widget.Button
	for _, o := range find(over, func(fyne.CanvasObject) bool { return true }) {
		switch x := o.(type) {
		case *widget.Select:
			selects = append(selects, x)
		case *widget.Entry:
			entries = append(entries, x)
		case *widget.RadioGroup:
			radios = append(radios, x)
		case *widget.Button:
			if x.Text == "Choose file…" {
				chooseFile = x
			}
		}
	}
	if len(selects) != 2 || len(entries) != 2 || len(radios) != 1 || chooseFile == nil {
		t.Fatalf("form: %d selects, %d entries, %d radio groups, button %v", len(selects), len(entries), len(radios), chooseFile != nil)
	}
	choose(t, m, selects[0], exportChosen)
	choose(t, m, selects[1], "PLY")
	for n, text := range []string{"5", "0.5"} {
		tap(m, entries[n])
		press(m, fyne.KeyModifierControl, fyne.KeyA) // typing replaces
		typeText(t, m, text)
	}
	tapRadio(t, m, radios[0], coordsRAS)
	tap(m, chooseFile)
	if got == nil {
		t.Fatal("the form gave nothing")
	}
	want := app.SurfaceExport{Format: mesh.PLY, Coords: mesh.RAS, Options: mesh.Options{Smooth: 5, Decimate: 0.5}, Labels: []uint16{liver}}
	if fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Fatalf("form gave %+v, want %+v", *got, want)
	}

	out := filepath.Join(t.TempDir(), "liver.ply")
	wait(t, m.ExportSurfaces(out, *got))
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b[:300]), "liver") || !strings.Contains(string(b[:300]), "SPACE=RAS") {
		t.Errorf("PLY header does not name the liver and RAS:\n%s", b[:300])
	}
	if !strings.Contains(m.toolbar.message.Text, out) {
		t.Errorf("message %q does not name %s", m.toolbar.message.Text, out)
	}
}

// BenchmarkView3DFrame draws the 3D view's frame of patient A's surfaces
// (61 segments, about 404 000 triangles, smoothed) after the camera
// turned a degree, as each step of a drag does: render3d's work plus the
// view's (the slice planes, the frame's key), at 800×800 and at the size
// of the view's cell in the window. CPU time per frame is reported beside
// wall time, as the machine is shared.
func BenchmarkView3DFrame(b *testing.B) {
	if _, err := os.Stat(realData); err != nil {
		b.Skipf("real CT fixtures not present: %v", err)
	}
	m := newWindow(b, app.Options{AutosaveDir: b.TempDir()})
	defer m.session.Close()
	wait(b, m.Open(filepath.Join(realData, "example_ct.nii.gz"), filepath.Join(realData, "example_seg_fast_force_split.nii.gz"), volume.OpenOptions{}))
	if err := m.view3d.surfaces.WaitIdle(context.Background()); err != nil {
		b.Fatal(err)
	}
	v := m.view3d
	tris := 0
	for _, s := range v.surfaces.All() {
		tris += len(s.Mesh.Triangles)
	}
	for _, c := range []struct {
		name   string
		w, h   int
		planes bool
	}{
		{"800x800", 800, 800, false},
		{"800x800+planes", 800, 800, true},
		// The view's cell in a 1280×860 window.
		{"480x340+planes", 480, 340, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			v.ShowPlanes(c.planes)
			cursor := m.session.Cursor()
			c0 := cpuTime()
			for b.Loop() {
				v.mu.Lock()
				v.cam.Orbit(math.Pi/180, 0)
				v.renderLocked(c.w, c.h, cursor)
				v.mu.Unlock()
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(tris), "triangles")
		})
	}
}
