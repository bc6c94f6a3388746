package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/polyseg/polyseg/app/tools"
	"github.com/polyseg/polyseg/viewer"
)

// paintStroke chooses the brush and paints a stroke across the axial view
// of openTools' scan, and returns how many voxels it painted.
func paintStroke(t *testing.T, m *MainWindow) int {
	t.Helper()
	ax := m.View(viewer.Axial)
	mouseMove(m, centreOf(ax))
	typeKey(m, fyne.KeyD)
	stroke(m, ax, voxelPos(ax, 10, 10), voxelPos(ax, 30, 12), voxelPos(ax, 40, 20))
	n := countValue(m.session, liver)
	if n == 0 {
		t.Fatal("the stroke painted nothing")
	}
	return n
}

// Ctrl+Z and Ctrl+Y as the driver sends them (fyne.ShortcutUndo and
// ShortcutRedo) undo and redo; in a text field they are the field's own.
func TestUndoRedoKeys(t *testing.T) {
	m := openTools(t)
	painted := paintStroke(t, m)
	if got := m.undoItem.Label; got != "Undo Paint liver" || m.undoItem.Disabled {
		t.Errorf("Undo menu item %q (disabled %v) after a stroke", got, m.undoItem.Disabled)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if n := countValue(m.session, liver); n != 0 {
		t.Fatalf("Ctrl+Z left %d of the stroke's %d voxels", n, painted)
	}
	if got := m.redoItem.Label; got != "Redo Paint liver" || m.redoItem.Disabled {
		t.Errorf("Redo menu item %q (disabled %v) after Ctrl+Z", got, m.redoItem.Disabled)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyY)
	if n := countValue(m.session, liver); n != painted {
		t.Fatalf("Ctrl+Y brought back %d voxels, want %d", n, painted)
	}

	// In the brush size field, Ctrl+Z undoes the typing, not the stroke.
	size := m.toolbar.size
	tap(m, size)
	typeText(t, m, "5")
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if n := countValue(m.session, liver); n != painted {
		t.Errorf("Ctrl+Z in the size field undid the stroke (%d voxels left of %d)", n, painted)
	}
	if strings.Contains(size.Text, "5") {
		t.Errorf("Ctrl+Z in the size field left %q", size.Text)
	}
	typeKey(m, fyne.KeyEscape)
	if m.Window().Canvas().Focused() != nil {
		t.Error("Esc in the size field kept the keys there")
	}
}

// Ctrl+O, Ctrl+D, Ctrl+L and Ctrl+S, which the driver sends as
// desktop.CustomShortcut, open their dialogs; Esc closes a dialog whose
// field does not hold the keys, and no key acts behind it.
func TestFileKeys(t *testing.T) {
	m := openTools(t)
	mouseMove(m, centreOf(m.View(viewer.Axial)))
	for _, k := range []fyne.KeyName{fyne.KeyO, fyne.KeyD, fyne.KeyL, fyne.KeyS} {
		press(m, fyne.KeyModifierControl, k)
		if m.openDialogs() != 1 {
			t.Errorf("Ctrl+%s: %d dialogs open, want its dialog", k, m.openDialogs())
			continue
		}
		// A second shortcut behind the dialog does nothing.
		press(m, fyne.KeyModifierControl, fyne.KeyO)
		if m.openDialogs() != 1 {
			t.Errorf("Ctrl+O behind the dialog of Ctrl+%s opened another", k)
		}
		if m.Window().Canvas().Focused() != nil {
			// Fyne's save dialog gives its name field the keys; Esc is
			// that field's.
			m.Window().Canvas().Unfocus()
		}
		typeKey(m, fyne.KeyEscape)
		if m.openDialogs() != 0 || m.Window().Canvas().Overlays().Top() != nil {
			t.Errorf("Esc did not close the dialog of Ctrl+%s", k)
		}
	}
}

// Shift with a key the table binds with Shift runs that entry, and the
// plain entry otherwise: the driver sends a Shift+letter as the plain
// typed key, with the modifier known only to it.
func TestShiftKeys(t *testing.T) {
	m := openTools(t)
	var ran []string
	for _, s := range []Shortcut{
		{Group: "Test", Name: "plain Y", Key: fyne.KeyY, Run: func() { ran = append(ran, "Y") }},
		{Group: "Test", Name: "Shift+Y", Key: fyne.KeyY, Modifier: fyne.KeyModifierShift, Run: func() { ran = append(ran, "Shift+Y") }},
	} {
		if err := m.Shortcuts().Add(s); err != nil {
			t.Fatal(err)
		}
	}
	press(m, fyne.KeyModifierShift, fyne.KeyY)
	typeKey(m, fyne.KeyY)
	if want := []string{"Shift+Y", "Y"}; !slices.Equal(ran, want) {
		t.Errorf("Shift+Y then Y ran %q, want %q", ran, want)
	}
	// Propagation's Shift+P and Shift+X are such entries.
	for _, k := range []fyne.KeyName{fyne.KeyP, fyne.KeyX} {
		s, ok := m.Shortcuts().lookup(k, fyne.KeyModifierShift)
		p, _ := m.Shortcuts().lookup(k, 0)
		if !ok || s.Name == p.Name {
			t.Errorf("Shift+%s is not an entry of its own (%q, plain %q)", k, s.Name, p.Name)
		}
	}
	// A key bound without Shift works with Shift too (Shift+= is +).
	v := m.View(viewer.Axial)
	mouseMove(m, centreOf(v))
	press(m, fyne.KeyModifierShift, fyne.KeyEqual)
	if v.Viewport().Zoom <= 1 {
		t.Error("Shift+= (+) did not zoom in")
	}
}

// No key acts behind a dialog: typing a name into the Add segment dialog
// (opened with A, its field having the keys) changes no tool, no window,
// no 3D, and is the name; Esc closes the dialog. Behind the help panel, 3
// does not change the window.
func TestNoKeysBehindDialogs(t *testing.T) {
	m := openTools(t)
	paintStroke(t, m) // the brush is chosen and there is a stroke to undo
	mouseMove(m, centreOf(m.View(viewer.Axial)))
	win := m.session.Window()
	painted := countValue(m.session, liver)

	typeKey(m, fyne.KeyA)
	if m.openDialogs() != 1 {
		t.Fatal("A opened no dialog")
	}
	field, ok := m.Window().Canvas().Focused().(*keySelectEntry)
	if !ok {
		t.Fatalf("the Add segment dialog's field does not have the keys (%T has)", m.Window().Canvas().Focused())
	}
	const name = "Eng tp3 sxgln 1-4 o.k"
	typeText(t, m, name)
	if field.Text != name {
		t.Errorf("the field holds %q, want %q", field.Text, name)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ) // the field's own undo
	if tool := m.toolbar.editor.Tool(); tool != tools.Brush {
		t.Errorf("typing in the dialog chose the %s tool", tool)
	}
	if m.toolbar.sphere.Checked || m.toolbar.editor.Settings().Sphere {
		t.Error("typing S in the dialog switched the brush to 3D")
	}
	if w := m.session.Window(); w != win {
		t.Errorf("typing 3 or 4 in the dialog set the window %v", w)
	}
	if m.prop.lastJob != nil || m.tools.lastJob != nil {
		t.Error("typing in the dialog started a job")
	}
	if n := countValue(m.session, liver); n != painted {
		t.Errorf("Ctrl+Z in the dialog undid the stroke (%d of %d voxels left)", n, painted)
	}
	typeKey(m, fyne.KeyEscape)
	if m.openDialogs() != 0 || m.Window().Canvas().Overlays().Top() != nil {
		t.Fatal("Esc did not close the Add segment dialog")
	}
	if _, pending := m.session.Preview(); pending || m.Maximised() != nil {
		t.Error("Esc closing the dialog also acted on the window")
	}

	// The help panel: 3 behind it does nothing, Esc closes it.
	typeKey(m, fyne.KeyF1)
	if m.openDialogs() != 1 {
		t.Fatal("F1 showed no help")
	}
	for _, k := range []fyne.KeyName{fyne.Key3, fyne.KeyE, fyne.KeyF1, fyne.KeyF} {
		typeKey(m, k)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if w := m.session.Window(); w != win {
		t.Errorf("3 behind the help panel set the window %v", w)
	}
	if m.toolbar.editor.Tool() != tools.Brush || m.Maximised() != nil || m.openDialogs() != 1 {
		t.Error("keys behind the help panel acted on the window")
	}
	if n := countValue(m.session, liver); n != painted {
		t.Error("Ctrl+Z behind the help panel undid the stroke")
	}
	typeKey(m, fyne.KeyEscape)
	if m.openDialogs() != 0 {
		t.Fatal("Esc did not close the help panel")
	}
	typeKey(m, fyne.Key3)
	if m.session.Window() == win {
		t.Error("3 with no dialog open did not set the lung window")
	}
}

// After a click on a check box, a slider, a select, the segment list or a
// text field, the keys act on the views again.
func TestControlsGiveKeysBack(t *testing.T) {
	m := openTools(t)
	m.session.Paint("spleen", []int{0}, 1)
	settle()
	ax := m.View(viewer.Axial)
	slice := func() int { s, _ := ax.Slice(); return s }
	// Each control, clicked, then a key that must reach the window.
	steps := []struct {
		name  string
		click func()
		key   fyne.KeyName
		check func() bool
	}{
		{"3D", func() { tapCheck(m, m.toolbar.sphere) }, fyne.KeyE,
			func() bool { return m.toolbar.editor.Tool() == tools.Eraser }},
		{"Outline only", func() { tapCheck(m, m.sidebar.outline) }, fyne.KeyD,
			func() bool { return m.toolbar.editor.Tool() == tools.Brush }},
		{"Overwrite others", func() { tapCheck(m, m.sidebar.segments.overwrite) }, fyne.KeyE,
			func() bool { return m.toolbar.editor.Tool() == tools.Eraser }},
		{"opacity", func() {
			op := m.sidebar.opacity
			click(m, at(op, fyne.NewPos(op.Size().Width/2, op.Size().Height/2)))
		}, fyne.KeyD, func() bool { return m.toolbar.editor.Tool() == tools.Brush }},
		{"label chooser", func() { choose(t, m, m.tools.label, "1 spleen") }, fyne.KeyE,
			func() bool { return m.toolbar.editor.Tool() == tools.Eraser }},
		{"segment list", func() { tapRow(t, m, 0) }, fyne.KeyUp,
			func() bool { return slice() > 0 }},
		{"brush size field, Enter", func() {
			tap(m, m.toolbar.size)
			typeText(t, m, "7")
			typeKey(m, fyne.KeyReturn)
		}, fyne.KeyD, func() bool { return m.toolbar.editor.Tool() == tools.Brush }},
		{"label chooser closed without a choice", func() {
			tap(m, m.tools.label)
			typeKey(m, fyne.KeyEscape) // the list's own Esc
			if m.Window().Canvas().Overlays().Top() != nil {
				t.Fatal("Esc did not close the select's list")
			}
		}, fyne.KeyE, func() bool { return m.toolbar.editor.Tool() == tools.Eraser }},
	}
	for _, st := range steps {
		// The slice starts at 0, so that Up shows.
		for slice() > 0 {
			typeKey(m, fyne.KeyDown)
		}
		typeKey(m, fyne.KeyN)
		st.click()
		// Back over the views, as a user goes after using a control.
		mouseMove(m, centreOf(ax))
		typeKey(m, st.key)
		if !st.check() {
			t.Errorf("%s: %s after a click on it did not reach the views (%T has the keys)",
				st.name, st.key, m.Window().Canvas().Focused())
		}
		if f := m.Window().Canvas().Focused(); f != nil {
			t.Errorf("%s: %T keeps the keys", st.name, f)
		}
	}
	// A text field keeps the keys while the user types, even with the
	// mouse over the views.
	tap(m, m.toolbar.huMin)
	mouseMove(m, centreOf(ax))
	typeText(t, m, "1")
	if m.toolbar.editor.Tool() != tools.Eraser || !strings.HasSuffix(m.toolbar.huMin.Text, "1") {
		t.Errorf("typing 1 in the HU field: field %q, tool %s", m.toolbar.huMin.Text, m.toolbar.editor.Tool())
	}
}
