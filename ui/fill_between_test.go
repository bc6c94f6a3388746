package ui

import (
	"context"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// openDrawnBall returns a window showing a scan whose liver label is a
// ball drawn on every 3rd coronal slice only, and the whole ball.
func openDrawnBall(t *testing.T) (*MainWindow, *volume.Labels) {
	t.Helper()
	g := volume.Grid{Dims: [3]int{30, 32, 28}, Affine: volume.Identity()}
	ref := volume.NewLabels(g)
	drawn := volume.NewLabels(g)
	for k := range g.Dims[2] {
		for j := range g.Dims[1] {
			for i := range g.Dims[0] {
				x, y, z := float64(i-15)/11, float64(j-16)/13, float64(k-14)/11
				if x*x+y*y+z*z <= 1 {
					ref.Data[g.Index(i, j, k)] = liver
					// Voxel axis j is the coronal slices' (identity affine: y).
					if (j-3)%3 == 0 || j == 29 {
						drawn.Data[g.Index(i, j, k)] = liver
					}
				}
			}
		}
	}
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(900, 700))
	wait(t, m.OpenGenerated("ball", func(context.Context, app.Progress) (*volume.Volume, *volume.Labels, error) {
		return &volume.Volume{Grid: g, Data: make([]float32, g.Len())}, drawn, nil
	}))
	return m, ref
}

// fillDialog opens Interpolate > Fill between slices… from the window's
// menu and returns the dialog.
func fillDialog(t *testing.T, m *MainWindow) fyne.CanvasObject {
	t.Helper()
	for _, menu := range m.Window().MainMenu().Items {
		for _, it := range menu.Items {
			if it.Label == "Fill between slices…" {
				it.Action()
				top := m.Window().Canvas().Overlays().Top()
				if top == nil {
					t.Fatal("Fill between slices… showed no dialog")
				}
				return top
			}
		}
	}
	t.Fatal("no Fill between slices… in the menus")
	return nil
}

func radios(top fyne.CanvasObject) []*widget.RadioGroup {
	var out []*widget.RadioGroup
	for _, o := range find(top, func(o fyne.CanvasObject) bool { _, ok := o.(*widget.RadioGroup); return ok }) {
		out = append(out, o.(*widget.RadioGroup))
	}
	return out
}

// TestFillBetweenDialog fills the ball across coronal slices from the menu:
// the dialog starts on the last used view's plane, the fill becomes a
// preview, Enter accepts it as one undo step.
func TestFillBetweenDialog(t *testing.T) {
	m, ref := openDrawnBall(t)
	mouseMove(m, centreOf(m.View(viewer.Coronal))) // the view last used
	before := labelData(m.session)
	ax := m.View(viewer.Axial)
	where := func() [2]fyne.Position {
		relayout(m.Window().Canvas())
		return [2]fyne.Position{at(ax, fyne.Position{}), fyne.NewPos(ax.Size().Width, ax.Size().Height)}
	}
	place := where()
	top := fillDialog(t, m)
	rg := radios(top)
	if len(rg) != 2 || rg[0].Selected != "Coronal" || rg[1].Selected != fillModes[0] {
		t.Fatalf("dialog radios %d, plane %q: want the coronal plane and the shape fill chosen", len(rg), rg[0].Selected)
	}
	m.tools.lastReported = nil
	dialogButton(t, m, "Fill")
	if m.tools.lastJob == nil || !strings.Contains(m.tools.lastJob.Name(), "coronal") {
		t.Fatalf("no coronal fill started (last job %v)", m.tools.lastJob)
	}
	if err := waitJob(t, m.tools.lastJob); err != nil {
		t.Fatal(err)
	}
	wait(t, m.tools.lastReported)
	if info, ok := m.session.Preview(); !ok || info.Voxels == 0 || !m.tools.banner.Visible() {
		t.Fatalf("preview %+v, %v, banner shown %v: want a preview to accept", info, ok, m.tools.banner.Visible())
	}
	if p := where(); p != place {
		t.Errorf("the views moved when the preview banner appeared: %v, was %v", p, place)
	}
	typeKey(m, fyne.KeyReturn)
	if p := where(); p != place {
		t.Errorf("the views moved when the preview banner went: %v, was %v", p, place)
	}
	for _, l := range []*widget.Label{m.status, m.toolbar.message} {
		if l.Visible() && strings.Contains(l.Text, "Esc") {
			t.Errorf("%q still says how to accept or reject after accepting", l.Text)
		}
	}
	after := labelData(m.session)
	filled, inBall := 0, 0
	for i, x := range after {
		if x == liver && before[i] == 0 {
			filled++
			if ref.Data[i] == liver {
				inBall++
			}
		}
	}
	if filled == 0 || float64(inBall) < 0.95*float64(filled) {
		t.Errorf("accepting filled %d voxels, %d of them in the ball: want the ball's slices filled", filled, inBall)
	}
	if u, _ := m.session.UndoRedoNames(); !strings.HasPrefix(u, "Fill") {
		t.Errorf("undo step %q: want the fill as one step", u)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if !slices.Equal(labelData(m.session), before) {
		t.Error("Ctrl+Z did not take the fill back")
	}
}

// TestFillBetweenDialogRefusals: SAM on coronal slices says why, in a
// dialog, and leaves no preview; Cancel starts nothing.
func TestFillBetweenDialogRefusals(t *testing.T) {
	m, _ := openDrawnBall(t)
	mouseMove(m, centreOf(m.View(viewer.Coronal)))
	fillDialog(t, m)
	m.tools.lastJob = nil
	dialogButton(t, m, "Cancel")
	if m.tools.lastJob != nil {
		t.Error("Cancel started a fill")
	}
	top := fillDialog(t, m)
	tapRadio(t, m, radios(top)[1], fillModes[1])
	dialogButton(t, m, "Fill")
	if _, ok := m.session.Preview(); ok {
		t.Error("a preview appeared")
	}
	msg := find(m.Window().Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		l, ok := o.(*widget.Label)
		return ok && strings.Contains(strings.ToLower(l.Text), "axial")
	})
	if len(msg) == 0 {
		t.Error("no dialog saying SAM fills axial slices")
	}
}
