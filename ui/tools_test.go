package ui

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/app/tools"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// toolVolume is 80×64×24 voxels of 0.8×0.8×2.5 mm whose left half (voxel
// i < 40) is 100 HU and right half -100 HU.
func toolVolume() *volume.Volume {
	g := volume.Grid{Dims: [3]int{80, 64, 24}, Affine: volume.Identity()}
	g.Affine[0][0], g.Affine[1][1], g.Affine[2][2] = 0.8, 0.8, 2.5
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		if i%80 < 40 {
			v.Data[i] = 100
		} else {
			v.Data[i] = -100
		}
	}
	return v
}

// openTools returns a window of 1000×700 showing toolVolume.
func openTools(t *testing.T) *MainWindow {
	t.Helper()
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(1280, 800))
	wait(t, m.OpenGenerated("tools", func(context.Context, app.Progress) (*volume.Volume, *volume.Labels, error) {
		return toolVolume(), nil, nil
	}))
	if v, _ := m.session.Volume(); v == nil {
		t.Fatal("the scan did not open")
	}
	return m
}

// stroke drags the left button through pts (v's coordinates) in view v,
// through the window.
func stroke(m *MainWindow, v *SliceView, pts ...fyne.Position) {
	abs := make([]fyne.Position, len(pts))
	for n, p := range pts {
		abs[n] = at(v, p)
	}
	drag(m, desktop.MouseButtonPrimary, 0, abs...)
}

// clickIn clicks the left button at p (v's coordinates) in view v.
func clickIn(m *MainWindow, v *SliceView, p fyne.Position) { click(m, at(v, p)) }

// typeInto clicks field e and types text in place of its own, then Enter.
func typeInto(t *testing.T, m *MainWindow, e *keyEntry, text string) {
	t.Helper()
	tap(m, e)
	if m.Window().Canvas().Focused() != fyne.Focusable(e) {
		t.Fatal("a click on the field did not give it the focus")
	}
	press(m, fyne.KeyModifierControl, fyne.KeyA) // select all: typing replaces
	typeText(t, m, text)
	typeKey(m, fyne.KeyReturn)
}

// voxelPos returns where the centre of display pixel (u, w) of v's slice
// lies, in v's coordinates.
func voxelPos(v *SliceView, u, w int) fyne.Position {
	s, _ := v.currentSlicer()
	return v.screenOf(s, float64(u)+0.5, float64(w)+0.5)
}

func countValue(s *app.Session, value uint16) int { return s.SegmentOf(value).Voxels }

// Every tool through the window: keys choose them, mouse gestures on the
// views paint, the shortcut undoes.
func TestToolsThroughTheWindow(t *testing.T) {
	m := openTools(t)
	ax := m.View(viewer.Axial)
	mouseMove(m, centreOf(ax))

	// Brush: D, a drag.
	typeKey(m, fyne.KeyD)
	if m.toolbar.editor.Tool() != tools.Brush || m.toolbar.buttons[tools.Brush].Importance != widget.HighImportance {
		t.Fatal("D did not choose the brush")
	}
	before := capture(m, ax)
	cursor := m.session.Cursor()
	stroke(m, ax, voxelPos(ax, 10, 10), voxelPos(ax, 30, 12), voxelPos(ax, 40, 20))
	painted := countValue(m.session, liver)
	if painted < 100 {
		t.Fatalf("a brush stroke painted %d voxels", painted)
	}
	if m.session.Cursor() != cursor {
		t.Error("painting moved the crosshair")
	}
	if !differs(before, capture(m, ax)) {
		t.Error("the stroke did not show in the view")
	}
	if u, _ := m.session.UndoRedoNames(); u != "Paint liver" || !strings.Contains(m.undoItem.Label, "Paint liver") {
		t.Errorf("undo step %q, menu %q", u, m.undoItem.Label)
	}
	if !slices.ContainsFunc(m.sidebar.segments.segs, func(s app.Segment) bool { return s.Value == liver && s.Voxels == painted }) {
		t.Errorf("the segment list %v does not show the painted liver", m.sidebar.segments.segs)
	}

	// Eraser: E, a drag over part of it.
	typeKey(m, fyne.KeyE)
	stroke(m, ax, voxelPos(ax, 30, 5), voxelPos(ax, 30, 25))
	if n := countValue(m.session, liver); n >= painted || n == 0 {
		t.Errorf("after erasing across the stroke %d voxels of %d left", n, painted)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if n := countValue(m.session, liver); n != painted {
		t.Errorf("Ctrl+Z after erasing: %d voxels, want %d", n, painted)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if n := countValue(m.session, liver); n != 0 {
		t.Errorf("Ctrl+Z after the stroke: %d voxels left", n)
	}

	// Polygon: L, clicks, Enter.
	typeKey(m, fyne.KeyL)
	// Corners on pixel corners: the pixels inside are [10, 20)².
	for _, p := range [][2]int{{10, 10}, {20, 10}, {20, 20}, {10, 20}} {
		s, _ := ax.currentSlicer()
		clickIn(m, ax, ax.screenOf(s, float64(p[0]), float64(p[1])))
	}
	if lines := visibleLines(ax); lines < 3 {
		t.Errorf("%d polygon lines drawn while drawing it", lines)
	}
	typeKey(m, fyne.KeyReturn)
	if n := countValue(m.session, liver); n != 100 {
		t.Errorf("polygon filled %d voxels, want 10×10", n)
	}
	if visibleLines(ax) != 0 {
		t.Error("polygon lines stay after it was filled")
	}
	// Double-click closes too, and does not maximise the view.
	for _, p := range [][2]int{{30, 30}, {35, 30}} {
		clickIn(m, ax, voxelPos(ax, p[0], p[1]))
	}
	doubleClick(m, at(ax, voxelPos(ax, 35, 35)))
	if m.Maximised() != nil {
		t.Error("a double-click with the polygon tool maximised the view")
	}
	if n := countValue(m.session, liver); n <= 100 {
		t.Errorf("the double-clicked triangle filled nothing (%d voxels)", n)
	}

	// Threshold brush: T; I picks the range around the crosshair (inside
	// the 100 HU half), and the fields can be typed in.
	typeKey(m, fyne.KeyT)
	m.session.SetCursor([3]int{10, 32, 5})
	settle()
	typeKey(m, fyne.KeyI)
	if r := m.toolbar.editor.Settings().HU; !(r.Min <= 100 && r.Max >= 100 && r.Min > -100) || m.toolbar.huMin.Text != strconv.FormatFloat(r.Min, 'f', -1, 64) {
		t.Errorf("I picked %v (fields %q, %q) inside a uniform 100 HU region", r, m.toolbar.huMin.Text, m.toolbar.huMax.Text)
	}
	typeInto(t, m, m.toolbar.huMin, "50")
	typeInto(t, m, m.toolbar.huMax, "150")
	if r := m.toolbar.editor.Settings().HU; r != (app.HURange{Min: 50, Max: 150}) {
		t.Fatalf("HU range %v after typing 50 and 150", r)
	}
	slice, _ := ax.Slice()
	sl, _ := ax.currentSlicer()
	typeInto(t, m, m.toolbar.size, "6")
	stroke(m, ax, voxelPos(ax, 20, 50), voxelPos(ax, 60, 50))
	m.session.Read(func(vol *volume.Volume, l *viewer.Overlay) {
		in, out := 0, 0
		for u := 0; u < 80; u++ {
			i := sl.Index(slice, u, 50)
			if l.Labels.Data[i] == liver {
				if vol.Data[i] == 100 {
					in++
				} else {
					out++
				}
			}
		}
		if in == 0 || out != 0 {
			t.Errorf("threshold stroke: %d voxels in range, %d outside", in, out)
		}
	})

	// Flood fill: G, a click in the 100 HU half of another slice.
	mouseMove(m, centreOf(ax))
	for range 3 {
		typeKey(m, fyne.KeyUp)
	}
	typeKey(m, fyne.KeyG)
	before2 := countValue(m.session, liver)
	fillAt := 70
	if i, _, _ := sl.Voxel(slice, fillAt, 30); i >= 40 {
		fillAt = 79 - fillAt // the 100 HU half is on the other side
	}
	clickIn(m, ax, voxelPos(ax, fillAt, 30))
	if n := countValue(m.session, liver) - before2; n != 40*64 {
		t.Errorf("flood fill painted %d voxels, want the slice's 100 HU half (%d)", n, 40*64)
	}

	// Navigate: N, a click moves the crosshair again.
	typeKey(m, fyne.KeyN)
	before3 := m.session.Cursor()
	clickIn(m, ax, voxelPos(ax, 5, 5))
	if m.toolbar.editor.Tool() != tools.Navigate || m.session.Cursor() == before3 {
		t.Error("N did not choose navigation: a click did not move the crosshair")
	}
}

func visibleLines(v *SliceView) int {
	n := 0
	for _, l := range v.tool.lines {
		if l.Visible() {
			n++
		}
	}
	return n
}

// The brush outline follows the mouse with the brush's size in mm as the
// view shows it, and [ ] change the size.
func TestBrushOutline(t *testing.T) {
	m := openTools(t)
	ax := m.View(viewer.Axial)
	typeKey(m, fyne.KeyD)
	p := voxelPos(ax, 40, 30)
	mouseMove(m, at(ax, p))
	b := ax.tool.brush
	if !b.Visible() {
		t.Fatal("no brush outline under the mouse")
	}
	// 10 mm is 12.5 pixels of 0.8 mm; the distance between two pixel
	// centres 12 apart gives the view's scale.
	scale := voxelPos(ax, 52, 30).X - voxelPos(ax, 40, 30).X
	want := float32(10/0.8) * scale / 12
	if got := b.Size().Width; math.Abs(float64(got-want)) > 0.5 {
		t.Errorf("outline %v across, want %v", got, want)
	}
	if c := b.Position().Add(fyne.NewPos(b.Size().Width/2, b.Size().Height/2)); math.Abs(float64(c.X-p.X)) > 0.5 || math.Abs(float64(c.Y-p.Y)) > 0.5 {
		t.Errorf("outline centred at %v, mouse at %v", c, p)
	}
	typeKey(m, fyne.KeyRightBracket)
	if got := m.toolbar.editor.Settings().SizeMM; got != 12.5 || m.toolbar.size.Text != "12.5" {
		t.Errorf("] made the brush %v mm (entry %q), want 12.5", got, m.toolbar.size.Text)
	}
	if got := b.Size().Width; got <= want {
		t.Errorf("outline %v after ], was %v", got, want)
	}
	mouseMove(m, centreOf(m.View(viewer.Coronal)))
	if b.Visible() {
		t.Error("outline shown after the mouse left")
	}
	typeKey(m, fyne.KeyN)
	mouseMove(m, at(ax, p))
	if b.Visible() {
		t.Error("outline shown with the navigate tool")
	}
}

// The wheel, right-drag (window), pan and zoom keep working while a tool
// is chosen, and a stroke goes on across a wheel turn as one undo step.
func TestNavigationWhileToolActive(t *testing.T) {
	m := openTools(t)
	ax := m.View(viewer.Axial)
	mouseMove(m, centreOf(ax))
	typeKey(m, fyne.KeyD)
	s0, _ := ax.Slice()
	p := voxelPos(ax, 20, 20)
	mouseMove(m, at(ax, p))
	mouseButton(m, desktop.MouseButtonPrimary, 0, true)
	mouseMove(m, at(ax, voxelPos(ax, 25, 20)))
	scroll(m, at(ax, voxelPos(ax, 25, 20)), 0, 1)
	if s1, _ := ax.Slice(); s1 != s0+1 {
		t.Fatalf("the wheel during a stroke went to slice %d, want %d", s1, s0+1)
	}
	mouseMove(m, at(ax, voxelPos(ax, 30, 20)))
	mouseButton(m, desktop.MouseButtonPrimary, 0, false)
	sl, _ := ax.currentSlicer()
	m.session.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		for _, s := range []int{s0, s0 + 1} {
			if l.Labels.Data[sl.Index(s, 22, 20)] != liver && l.Labels.Data[sl.Index(s, 30, 20)] != liver {
				t.Errorf("slice %d not painted", s)
			}
		}
	})
	if u, _ := m.session.UndoRedoNames(); u != "Paint liver" {
		t.Errorf("undo step %q", u)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if n := countValue(m.session, liver); n != 0 {
		t.Errorf("one undo left %d voxels of a stroke across two slices", n)
	}

	w0 := m.session.Window()
	drag(m, desktop.MouseButtonSecondary, 0, at(ax, p), at(ax, p.Add(fyne.NewPos(30, 10))))
	if m.session.Window() == w0 {
		t.Error("right-drag did not change the window with the brush chosen")
	}
	if n := countValue(m.session, liver); n != 0 {
		t.Errorf("right-drag painted %d voxels", n)
	}
	vp := ax.Viewport()
	drag(m, desktop.MouseButtonTertiary, 0, at(ax, p), at(ax, p.Add(fyne.NewPos(15, 5))))
	if ax.Viewport() == vp {
		t.Error("middle-drag did not pan with the brush chosen")
	}
	typeKey(m, fyne.KeyEqual)
	if ax.Viewport().Zoom <= 1 {
		t.Error("+ did not zoom with the brush chosen")
	}
}

// A view redrawn part by part while painting shows exactly what a whole
// render shows, in every view, filled or outlined, zoomed or not.
func TestPartialRedrawMatchesFullRender(t *testing.T) {
	for _, outline := range []bool{false, true} {
		for _, zoom := range []float64{1, 2.7} {
			m := openTools(t)
			m.session.SetOutline(outline)
			settle()
			for _, v := range m.views {
				v.Zoom(zoom)
			}
			typeKey(m, fyne.KeyD)
			typeKey(m, fyne.KeyS) // a ball: the other views see it too
			ax := m.View(viewer.Axial)
			sz := make(map[*SliceView]image.Point)
			for _, v := range m.views {
				v.mu.Lock()
				target, _, _ := v.targetLocked(fyne.Position{})
				v.mu.Unlock()
				sz[v] = target.Size()
				v.draw(target.Dx(), target.Dy())
			}
			c := m.session.Cursor()
			_, cu, cw := mustSlicer(ax).Locate(c[0], c[1], c[2])
			mouseMove(m, at(ax, voxelPos(ax, cu-5, cw)))
			mouseButton(m, desktop.MouseButtonPrimary, 0, true)
			for n := -4; n <= 6; n++ {
				mouseMove(m, at(ax, voxelPos(ax, cu+n, cw+n/2)))
				for _, v := range m.views {
					// As the painter does after each change: a partial redraw.
					v.draw(sz[v].X, sz[v].Y)
				}
			}
			mouseMove(m, at(ax, voxelPos(ax, cu+6, cw+3)))
			mouseButton(m, desktop.MouseButtonPrimary, 0, false)
			for _, v := range m.views {
				part := cloneRGBA(v.draw(sz[v].X, sz[v].Y).(*image.RGBA))
				v.mu.Lock()
				v.out = nil // force a whole render
				v.mu.Unlock()
				whole := v.draw(sz[v].X, sz[v].Y).(*image.RGBA)
				if differs(part, whole) {
					t.Errorf("outline %v zoom %v: the %s view drawn in parts differs from a whole render", outline, zoom, v.plane)
				}
			}
			if countValue(m.session, liver) == 0 {
				t.Error("nothing painted")
			}
		}
	}
}

func mustSlicer(v *SliceView) viewer.Slicer {
	s, _ := v.currentSlicer()
	return s
}

func cloneRGBA(img *image.RGBA) *image.RGBA {
	c := image.NewRGBA(img.Rect)
	copy(c.Pix, img.Pix)
	return c
}

// A locked segment survives a stroke over it, through the segment list's
// lock button; Overwrite others lets the stroke replace an unlocked one.
func TestSegmentListLockAndOverwrite(t *testing.T) {
	m := openTools(t)
	ax := m.View(viewer.Axial)
	sl, _ := ax.currentSlicer()
	slice, _ := ax.Slice()
	var spleenIdx, kidneyIdx []int
	for u := 10; u < 50; u++ {
		spleenIdx = append(spleenIdx, sl.Index(slice, u, 20))
		kidneyIdx = append(kidneyIdx, sl.Index(slice, u, 24))
	}
	m.session.Paint("spleen", spleenIdx, 1)
	m.session.Paint("kidney", kidneyIdx, 2)
	settle()
	segs := m.sidebar.segments
	n := slices.IndexFunc(segs.segs, func(s app.Segment) bool { return s.Value == 1 })
	if n < 0 {
		t.Fatalf("no spleen in the list %v", segs.segs)
	}
	// Click the spleen row's lock.
	lockOf := func() *widget.Button {
		b := find(rowOf(t, m, n), func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Button); return ok })
		if len(b) != 1 {
			t.Fatalf("%d buttons in the spleen's row", len(b))
		}
		return b[0].(*widget.Button)
	}
	tap(m, lockOf())
	if !m.session.SegmentOf(1).Locked {
		t.Fatal("the lock button did not lock the spleen")
	}
	if lockOf().Icon != lockedIcon {
		t.Error("the lock button does not show the lock")
	}
	tapCheck(m, segs.overwrite)
	if !m.session.OverwriteOthers() {
		t.Fatal("the check did not turn overwrite on")
	}
	mouseMove(m, centreOf(ax))
	typeKey(m, fyne.KeyD)
	if m.toolbar.editor.Tool() != tools.Brush {
		t.Fatal("D after a click on Overwrite others did not choose the brush: the check kept the keys")
	}
	typeInto(t, m, m.toolbar.size, "20")
	stroke(m, ax, voxelPos(ax, 10, 22), voxelPos(ax, 50, 22))
	if got := countValue(m.session, 1); got != 40 {
		t.Errorf("the locked spleen has %d voxels of 40 after a stroke over it", got)
	}
	if got := countValue(m.session, 2); got != 0 {
		t.Errorf("the unlocked kidney kept %d voxels with overwrite on", got)
	}
	// Painting the locked segment itself is refused with a message.
	tapRow(t, m, n)
	stroke(m, ax, voxelPos(ax, 60, 40), voxelPos(ax, 62, 40))
	if !strings.Contains(m.toolbar.message.Text, "locked") {
		t.Errorf("message %q after painting a locked segment", m.toolbar.message.Text)
	}
}

// dialogButton taps the button labelled text in the dialog on top.
func dialogButton(t *testing.T, m *MainWindow, text string) {
	t.Helper()
	top := m.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog to press %q in", text)
	}
	b := find(top, func(o fyne.CanvasObject) bool { b, ok := o.(*widget.Button); return ok && b.Text == text })
	if len(b) != 1 {
		t.Fatalf("%d %q buttons in the dialog", len(b), text)
	}
	tap(m, b[0])
}

// The segment list's actions through their keys and dialogs: A adds a
// segment named by typing, V renumbers it, Delete deletes it after asking.
func TestSegmentListActions(t *testing.T) {
	m := openTools(t)
	segs := m.sidebar.segments
	ax := m.View(viewer.Axial)
	mouseMove(m, centreOf(ax))
	typeKey(m, fyne.KeyA)
	typeText(t, m, "tumour core")
	typeKey(m, fyne.KeyReturn)
	if m.openDialogs() != 0 {
		t.Fatal("Enter did not add the segment and close the dialog")
	}
	v := m.toolbar.editor.Settings().Value
	if seg := m.session.SegmentOf(v); seg.Name != "tumour_core" || v <= 117 {
		t.Fatalf("new segment %+v, value %d", seg, v)
	}
	if !strings.Contains(m.toolbar.segment.Text, "tumour_core") {
		t.Errorf("toolbar shows %q, want the new segment", m.toolbar.segment.Text)
	}
	// Paint it, renumber it, delete it through the dialog.
	typeKey(m, fyne.KeyD)
	stroke(m, ax, voxelPos(ax, 10, 10), voxelPos(ax, 20, 10))
	n := countValue(m.session, v)
	if n == 0 {
		t.Fatal("nothing painted")
	}
	typeKey(m, fyne.KeyV)
	press(m, fyne.KeyModifierControl, fyne.KeyA)
	typeText(t, m, "300")
	typeKey(m, fyne.KeyReturn)
	if countValue(m.session, 300) != n || m.toolbar.editor.Settings().Value != 300 {
		t.Errorf("after renumbering: %d voxels of 300, tools on %d", countValue(m.session, 300), m.toolbar.editor.Settings().Value)
	}
	typeKey(m, fyne.KeyV)
	press(m, fyne.KeyModifierControl, fyne.KeyA)
	typeText(t, m, "0")
	typeKey(m, fyne.KeyReturn)
	if top := m.Window().Canvas().Overlays().Top(); top == nil || !slices.ContainsFunc(textsOf(top), func(s string) bool {
		return strings.Contains(strings.ToLower(s), "not a label value")
	}) {
		t.Error("renumbering to 0 said nothing")
	}
	typeKey(m, fyne.KeyEscape)
	if m.openDialogs() != 0 {
		t.Fatal("Esc did not close the error")
	}
	typeKey(m, fyne.KeyDelete)
	dialogButton(t, m, "Yes")
	if countValue(m.session, 300) != 0 {
		t.Error("the segment's voxels stayed after Delete")
	}
	if u, _ := m.session.UndoRedoNames(); u != "Delete tumour_core" {
		t.Errorf("undo step %q", u)
	}
	// Rename and recolour through the session show in the list.
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if err := m.session.SetSegment(300, "lesion", m.session.SegmentOf(300).Color); err != nil {
		t.Fatal(err)
	}
	settle()
	if !slices.ContainsFunc(segs.segs, func(s app.Segment) bool { return s.Value == 300 && s.Name == "lesion" }) {
		t.Errorf("list %v after renaming", segs.segs)
	}
	// , and . walk the list.
	m.session.Paint("spleen", []int{0}, 1)
	settle()
	tapRow(t, m, slices.IndexFunc(segs.segs, func(s app.Segment) bool { return s.Value == 300 }))
	mouseMove(m, centreOf(ax))
	typeKey(m, fyne.KeyComma)
	if got := m.toolbar.editor.Settings().Value; got != 1 {
		t.Errorf(", chose %d, want the spleen before 300", got)
	}
}

// Painting while a job replaces the labels: the stroke ends, what it
// painted is kept as an undo step, and the toolbar says so.
func TestStrokeEndedByALoadSaysSo(t *testing.T) {
	gate := make(chan struct{})
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir(),
		LoadLabels: func(path string, ref volume.Grid) (*volume.Labels, []string, error) {
			<-gate
			return volume.NewLabels(ref), nil, nil
		}})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(1280, 800))
	wait(t, m.OpenGenerated("tools", func(context.Context, app.Progress) (*volume.Volume, *volume.Labels, error) {
		return toolVolume(), nil, nil
	}))
	ax := m.View(viewer.Axial)
	typeKey(m, fyne.KeyD)
	mouseMove(m, at(ax, voxelPos(ax, 10, 10)))
	mouseButton(m, desktop.MouseButtonPrimary, 0, true)
	mouseMove(m, at(ax, voxelPos(ax, 20, 10)))
	loaded := m.OpenLabels("other.nii.gz")
	close(gate)
	wait(t, loaded)
	mouseMove(m, at(ax, voxelPos(ax, 30, 10)))
	mouseButton(m, desktop.MouseButtonPrimary, 0, false)
	if !strings.Contains(m.toolbar.message.Text, "ended by Load other.nii.gz") {
		t.Errorf("toolbar message %q", m.toolbar.message.Text)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ) // the load
	if n := countValue(m.session, liver); n == 0 {
		t.Error("the stroke's voxels are gone after undoing the load")
	}
}

func TestShortcutTable(t *testing.T) {
	m := openTools(t)
	keys := m.Shortcuts()
	// Every built-in entry went in (Add refuses a key taken).
	again := &Shortcuts{}
	for _, s := range keys.Entries() {
		if err := again.Add(s); err != nil {
			t.Error(err)
		}
	}
	// Each tool and each menu shortcut has its entry.
	for _, k := range tools.Kinds {
		if keys.keyOf(k.String()) == "" {
			t.Errorf("tool %s has no key", k)
		}
	}
	// Each menu item's key is the table's, and no menu item binds a key:
	// the driver would run it before the focused widget saw the key.
	for _, mm := range m.Window().MainMenu().Items {
		for _, it := range mm.Items {
			if it.Shortcut == nil {
				continue
			}
			sc, ok := it.Shortcut.(*menuKey)
			if !ok {
				t.Errorf("menu item %q binds %s", it.Label, it.Shortcut.ShortcutName())
				continue
			}
			if _, found := keys.lookup(sc.Key(), sc.Mod()); !found {
				t.Errorf("menu item %q's key %s is not in the table", it.Label, keyLabel(sc.Key(), sc.Mod()))
			}
		}
	}
	// P propagates.
	if s, ok := keys.lookup(fyne.KeyP, 0); !ok || s.Name != "Propagate" {
		t.Errorf("P is bound to %q, want Propagate", s.Name)
	}
	// A feature adds its key; it works and the help lists it; a key taken
	// is refused.
	ran := false
	if err := keys.Add(Shortcut{Group: "Models", Name: "Test feature", Key: fyne.KeyZ, Run: func() { ran = true }}); err != nil {
		t.Fatal(err)
	}
	typeKey(m, fyne.KeyZ)
	if !ran {
		t.Error("the added key did not run")
	}
	if err := keys.Add(Shortcut{Name: "Other", Key: fyne.KeyD}); err == nil {
		t.Error("a second entry on D was accepted")
	}
	typeKey(m, fyne.KeyF1)
	top := m.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("F1 showed no help")
	}
	var texts []string
	for _, o := range find(top, func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Label); return ok }) {
		texts = append(texts, o.(*widget.Label).Text)
	}
	all := strings.Join(texts, "\n")
	for _, s := range keys.Entries() {
		if !strings.Contains(all, s.KeyLabel()) || !strings.Contains(all, s.Name) {
			t.Errorf("the help panel lacks %q (%s)", s.Name, s.KeyLabel())
		}
	}
	typeKey(m, fyne.KeyEscape)
	if m.Window().Canvas().Overlays().Top() != nil {
		t.Fatal("Esc did not close the help")
	}
	press(m, fyne.KeyModifierShift, fyne.KeySlash)
	if m.Window().Canvas().Overlays().Top() == nil {
		t.Error("? showed no help")
	}
}

// The README's shortcut table is the table the window uses: regenerate it
// with POLYSEG_UPDATE_README=1 when keys change.
func TestREADMEShortcutTable(t *testing.T) {
	m := openTools(t)
	const begin, end = "<!-- shortcuts: generated by TestREADMEShortcutTable -->\n", "<!-- /shortcuts -->"
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skipf("README.md: %v", err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", begin, end)
	}
	want := m.Shortcuts().Markdown()
	if got := readme[i+len(begin) : j]; got != want {
		if os.Getenv("POLYSEG_UPDATE_README") != "" {
			if err := os.WriteFile("../README.md", []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README's shortcut table differs from the window's; run POLYSEG_UPDATE_README=1 go test ./ui -run TestREADMEShortcutTable, or paste:\n%s", want)
	}
}

var errSink error

// mouse is a left-button event at pos, for the benchmark, which calls the
// view's handlers as the driver would, without a window around the view.
func mouse(pos fyne.Position) *desktop.MouseEvent {
	return &desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: pos}, Button: desktop.MouseButtonPrimary}
}

// BenchmarkBrushStroke paints strokes of 100 mouse events with a 20 mm
// brush on a 512×512 axial slice of 0.7 mm pixels, from the view's mouse
// handlers through the editor and the session to the view's re-rendered
// frame, the way the view draws while painting (only the damaged
// rectangle, "partial") and, alternating with it in the same loop so that
// both see the same load, with a whole render per event as before
// ("full"). It reports both per event, and their ratio.
func BenchmarkBrushStroke(b *testing.B) {
	test.NewTempApp(b)
	s := app.New(app.Options{AutosaveDir: b.TempDir()})
	defer s.Close()
	g := volume.Grid{Dims: [3]int{512, 512, 48}, Affine: volume.Identity()}
	g.Affine[0][0], g.Affine[1][1], g.Affine[2][2] = 0.7, 0.7, 2.5
	vol := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range vol.Data {
		vol.Data[i] = float32(i%97) - 40
	}
	if err := s.SetVolume(vol, ""); err != nil {
		b.Fatal(err)
	}
	e := tools.New(s)
	set := e.Settings()
	set.SizeMM = 20
	e.SetSettings(set)
	e.SetTool(tools.Brush)
	const events = 100
	for _, size := range []int{512, 1024} {
		b.Run(fmt.Sprintf("view-%d", size), func(b *testing.B) {
			v := NewSliceView(s, viewer.Axial)
			w := test.NewTempWindow(b, v)
			w.Resize(fyne.NewSize(float32(size), float32(size)))
			v.SetEditor(e, func(err error) { errSink = err }, nil)
			// A stroke across the slice: 100 events about 3 pixels of the
			// slice apart, as a 240 Hz mouse moving briskly gives.
			path := make([]fyne.Position, events)
			k := float32(size) / 512
			for n := range path {
				f := float64(n) / events
				path[n] = fyne.NewPos(k*float32(100+300*f), k*float32(256+60*math.Sin(6*f)))
			}
			paint := func(full bool) time.Duration {
				start := time.Now()
				for n, p := range path {
					switch n {
					case 0:
						v.MouseIn(mouse(p))
						v.MouseDown(mouse(p))
					case events - 1:
						v.MouseUp(mouse(p))
					default:
						v.MouseMoved(mouse(p))
					}
					if full {
						v.mu.Lock()
						v.out = nil
						v.mu.Unlock()
					}
					v.draw(size, size)
				}
				d := time.Since(start)
				s.Undo()
				v.draw(size, size)
				return d
			}
			v.draw(size, size)
			var partial, full time.Duration
			for b.Loop() {
				partial += paint(false)
				full += paint(true)
			}
			perEvent := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*events) / 1e6 }
			b.ReportMetric(perEvent(partial), "partial-ms/event")
			b.ReportMetric(perEvent(full), "full-ms/event")
			b.ReportMetric(float64(full)/float64(partial), "full/partial")
		})
	}
	if errSink != nil {
		b.Fatal(errSink)
	}
}

// The SAM box on a view other than the axial one says why it does
// nothing, in the tool bar, where the message stays.
func TestSAMBoxOnCoronalSaysWhy(t *testing.T) {
	m := openTools(t)
	if m.tools.box.Disabled() {
		t.Skip("SAM is not available here: the box tool is off")
	}
	typeKey(m, fyne.KeyB)
	if m.toolbar.editor.Tool() != tools.Box {
		t.Fatal("B did not choose the SAM box")
	}
	co := m.View(viewer.Coronal)
	stroke(m, co, voxelPos(co, 10, 5), voxelPos(co, 30, 15))
	if !strings.Contains(m.toolbar.message.Text, "axial") || !m.toolbar.message.Visible() {
		t.Errorf("message %q (shown %v) after a box on the coronal view", m.toolbar.message.Text, m.toolbar.message.Visible())
	}
	if m.tools.lastJob != nil {
		t.Error("a box on the coronal view started a job")
	}
}
