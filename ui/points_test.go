package ui

import (
	"image/color"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/polyseg/polyseg/app/tools"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/viewer"
)

// visibleClicks counts the SAM clicks drawn in view v, by colour.
func visibleClicks(v *SliceView) (positive, negative int) {
	for _, c := range v.tool.clicks {
		if !c.Visible() {
			continue
		}
		switch c.FillColor {
		case color.Color(clickPositive):
			positive++
		case color.Color(clickNegative):
			negative++
		}
	}
	return positive, negative
}

// mousePress presses button b with modifier mod at p (v's coordinates) and
// releases it jitter units to the right, through the window as the
// desktop driver sends it.
func mousePress(m *MainWindow, v *SliceView, p fyne.Position, b desktop.MouseButton, mod fyne.KeyModifier, jitter float32) {
	mouseMove(m, at(v, p))
	mouseButton(m, b, mod, true)
	if jitter != 0 {
		mouseMove(m, at(v, fyne.NewPos(p.X+jitter, p.Y)))
	}
	mouseButton(m, b, mod, false)
}

// The points tool through the window on patient B: Q chooses it; a left
// click is a positive point, Shift+click and a right click (with a hand's
// jitter) negative ones, a right drag sets the window and makes no point;
// each click decodes the slice into the preview and is drawn green or
// red; Backspace takes the last back; Enter accepts.
func TestPointsToolThroughTheWindow(t *testing.T) {
	m, ref := openPatientB(t)
	if m.tools.box.Disabled() {
		t.Skip("SAM is not available here: the points tool is off")
	}
	k, a, _ := liverBox(t, ref)
	sl, _ := section.NewSlicer(ref.Grid, section.Axial)
	refm, _ := sl.Mask(ref, k, liver)
	// A voxel deep in the liver, and one on the patient's fat far from it.
	var in, out [3]int
	for i, on := range refm.Data {
		r, c := i/sl.Cols, i%sl.Cols
		if on && r > 0 && refm.Data[i-sl.Cols] && refm.Data[i+sl.Cols] && in == ([3]int{}) && r > sl.Rows/3 {
			in = sl.Voxel(k, r, c)
		}
	}
	out = sl.Voxel(k, sl.Rows/2, sl.Cols-60)
	m.session.SetCursor(a)
	ax := m.View(viewer.Axial)
	m.tools.label.SetSelected("5 liver")
	typeKey(m, fyne.KeyQ)
	if m.toolbar.editor.Tool() != tools.Points {
		t.Fatalf("Q chose %v, not the points tool", m.toolbar.editor.Tool())
	}
	waitClick := func() {
		t.Helper()
		if m.tools.lastJob == nil {
			t.Fatal("the click started no job")
		}
		if err := waitJob(t, m.tools.lastJob); err != nil {
			t.Fatal(err)
		}
	}
	cursor := m.session.Cursor()
	mousePress(m, ax, positionOf(ax, in), desktop.MouseButtonPrimary, 0, 0)
	waitClick()
	if got := m.session.Clicks(liver); len(got) != 1 || !got[0].Positive || got[0].Voxel != in {
		t.Fatalf("clicks %+v after a left click at %v", got, in)
	}
	if m.session.Cursor() != cursor {
		t.Error("the click moved the crosshair")
	}
	if info, ok := m.session.Preview(); !ok || info.Voxels == 0 {
		t.Fatalf("preview %+v, %v after a positive click", info, ok)
	}
	if p, n := visibleClicks(ax); p != 1 || n != 0 {
		t.Errorf("%d green and %d red points drawn; want 1 green", p, n)
	}

	mousePress(m, ax, positionOf(ax, out), desktop.MouseButtonPrimary, fyne.KeyModifierShift, 0)
	waitClick()
	mousePress(m, ax, positionOf(ax, out), desktop.MouseButtonSecondary, 0, 2)
	waitClick()
	got := m.session.Clicks(liver)
	if len(got) != 3 || got[1].Positive || got[2].Positive {
		t.Fatalf("clicks %+v: want a positive one, then Shift+click and right click negative", got)
	}
	if p, n := visibleClicks(ax); p != 1 || n != 2 {
		t.Errorf("%d green and %d red points drawn; want 1 and 2", p, n)
	}
	w := m.session.Window()
	mousePress(m, ax, positionOf(ax, out), desktop.MouseButtonSecondary, 0, 40)
	if len(m.session.Clicks(liver)) != 3 || m.session.Window() == w {
		t.Error("a right drag should set the window and make no point")
	}

	typeKey(m, fyne.KeyBackspace)
	waitClick()
	if got := m.session.Clicks(liver); len(got) != 2 {
		t.Fatalf("Backspace left %d clicks; want 2", len(got))
	}
	if p, n := visibleClicks(ax); p != 1 || n != 1 {
		t.Errorf("after Backspace %d green and %d red points drawn", p, n)
	}
	// Ctrl+Z as the driver sends it takes back the last click too, and
	// the Edit menu says so.
	if got := m.undoItem.Label; !strings.HasPrefix(got, "Undo SAM click on slice ") {
		t.Errorf("Undo menu item %q with clicks pending", got)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	for _, j := range m.session.Jobs() {
		if err := waitJob(t, j); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.session.Clicks(liver); len(got) != 1 || !got[0].Positive {
		t.Fatalf("Ctrl+Z left clicks %+v; want the positive one", got)
	}
	if p, n := visibleClicks(ax); p != 1 || n != 0 {
		t.Errorf("after Ctrl+Z %d green and %d red points drawn; want 1 green", p, n)
	}
	typeKey(m, fyne.KeyReturn)
	if _, ok := m.session.Preview(); ok {
		t.Fatal("Enter did not accept the clicks' preview")
	}
	if len(m.session.Clicks(liver)) != 0 {
		t.Error("clicks stay after Enter")
	}
	if p, n := visibleClicks(ax); p+n != 0 {
		t.Errorf("%d points still drawn after Enter", p+n)
	}
	labels := labelData(m.session)
	_, r, c := sl.Pixel(in)
	if labels[ref.Index(in[0], in[1], in[2])] != liver || r < 0 || c < 0 {
		t.Error("the positive click's voxel is not liver after Enter")
	}
	if labels[ref.Index(out[0], out[1], out[2])] == liver {
		t.Error("the negative click's voxel is liver after Enter")
	}
}
