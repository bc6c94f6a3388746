package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/polyseg/polyseg/app/tools"
	"github.com/polyseg/polyseg/viewer"
)

// The keys the window binds, in one table (Shortcut): typing a key runs
// its entry, and the help panel (F1) and the README list the same
// entries. P is left free for propagation.

// Shortcuts returns the window's shortcut table. Features add their keys
// with Add (an error names a key already taken), and the help panel lists
// them from then on.
func (m *MainWindow) Shortcuts() *Shortcuts { return m.keys }

// newShortcuts makes the table of the window's keys.
func (m *MainWindow) newShortcuts() *Shortcuts {
	t := &Shortcuts{canvas: m.win.Canvas(), blocked: m.dialogOpen}
	add := func(s Shortcut) {
		if err := t.Add(s); err != nil {
			// Two built-in entries on one key is a defect of this table,
			// which the tests catch; the first one keeps the key.
			fyne.LogError("shortcut table", err)
		}
	}
	tb := m.toolbar

	for _, e := range []struct {
		kind tools.Kind
		key  fyne.KeyName
		help string
	}{
		{tools.Navigate, fyne.KeyN, "the left button moves the crosshair"},
		{tools.Brush, fyne.KeyD, "paint the chosen segment with a disc (a ball with 3D) of the size set, in mm"},
		{tools.Eraser, fyne.KeyE, "erase the chosen segment (any unlocked one with Overwrite others)"},
		{tools.Threshold, fyne.KeyT, "the brush, painting only voxels inside the HU range"},
		{tools.Polygon, fyne.KeyL, "click corners or drag a lasso; double-click or Enter fills it"},
		{tools.Fill, fyne.KeyG, "a click fills the connected region inside the HU range (through the slices with 3D)"},
	} {
		k := e.kind
		add(Shortcut{Group: "Tools", Name: k.String(), Help: e.help, Key: e.key, Run: func() { tb.selectTool(k) }})
	}
	add(Shortcut{Group: "Tools", Name: tools.Box.String(), Key: fyne.KeyB, Run: m.tools.toggleBox,
		Help: "drag a box on the axial view: SAM segments the chosen segment in it"})
	add(Shortcut{Group: "Tools", Name: tools.Points.String(), Key: fyne.KeyQ, Run: func() { tb.selectTool(tools.Points) },
		Help: "on the axial view, a click says \"this too\" to SAM, a right click or Shift+click \"not this\" (it only takes away); the slice is decoded again at once, and a propagated segment is propagated again from it when you stop clicking"})
	add(Shortcut{Group: "Tools", Name: "Smaller brush", Key: fyne.KeyLeftBracket, Run: func() { tb.stepSize(false) }})
	add(Shortcut{Group: "Tools", Name: "Larger brush", Key: fyne.KeyRightBracket, Run: func() { tb.stepSize(true) }})
	add(Shortcut{Group: "Tools", Name: "2D or 3D", Key: fyne.KeyS, Run: tb.toggleSphere,
		Help: "the brush paints a disc on the slice, or a ball through neighbouring slices"})
	add(Shortcut{Group: "Tools", Name: "Pick HU range", Key: fyne.KeyI, Run: tb.pickHU,
		Help: "from the scan around the crosshair (mean ± 2.5 SD)"})
	add(Shortcut{Group: "Tools", Name: "Close polygon or accept", Key: fyne.KeyReturn, Also: []fyne.KeyName{fyne.KeyEnter},
		Help: "fill the polygon being drawn; else accept the model's preview", Run: func() {
			if !tb.key(tools.KeyEnter) {
				if _, pending := m.session.Preview(); pending {
					m.tools.accept()
				}
			}
		}})
	add(Shortcut{Group: "Tools", Name: "Remove corner or point", Key: fyne.KeyBackspace, Run: func() { tb.key(tools.KeyBackspace) },
		Help: "the polygon's last corner, or the last SAM point"})
	add(Shortcut{Group: "Tools", Name: "Cancel or reject", Key: fyne.KeyEscape,
		Help: "close the dialog open; else cancel the polygon or stroke going on; else reject the preview; else restore the views", Run: func() {
			if tb.key(tools.KeyEscape) {
				return
			}
			if _, pending := m.session.Preview(); pending {
				m.tools.reject()
				return
			}
			if m.maximised != nil || m.max3D {
				m.restoreViews()
			}
		}})

	sl := m.sidebar.segments
	add(Shortcut{Group: "Segments", Name: "Add segment", Key: fyne.KeyA, Run: sl.showAdd,
		Help: "one of the colour table's, or a new name"})
	add(Shortcut{Group: "Segments", Name: "Rename segment", Key: fyne.KeyF2, Run: sl.showRename})
	add(Shortcut{Group: "Segments", Name: "Segment colour", Key: fyne.KeyC, Run: sl.showRecolour})
	add(Shortcut{Group: "Segments", Name: "Renumber segment", Key: fyne.KeyV, Run: sl.showRenumber,
		Help: "give it another label value (one undo step)"})
	add(Shortcut{Group: "Segments", Name: "Delete segment", Key: fyne.KeyDelete, Run: sl.showDelete,
		Help: "clear its voxels, after asking (one undo step)"})
	add(Shortcut{Group: "Segments", Name: "Hide or show segment", Key: fyne.KeyH, Run: sl.toggleHidden})
	add(Shortcut{Group: "Segments", Name: "Lock or unlock segment", Key: fyne.KeyK, Run: sl.toggleLocked,
		Help: "no tool changes a locked segment's voxels"})
	add(Shortcut{Group: "Segments", Name: "Overwrite others", Key: fyne.KeyO, Run: sl.toggleOverwrite,
		Help: "painting may replace other unlocked segments (on) or fills only empty voxels (off)"})
	add(Shortcut{Group: "Segments", Name: "Previous segment", Key: fyne.KeyComma, Run: func() { sl.step(-1) }})
	add(Shortcut{Group: "Segments", Name: "Next segment", Key: fyne.KeyPeriod, Run: func() { sl.step(1) }})
	add(Shortcut{Group: "Segments", Name: "Go to segment", Key: fyne.KeyJ, Run: sl.goTo,
		Help: "move the crosshair into the chosen segment"})

	mt := m.tools
	enabled := func(b interface{ Disabled() bool }, name string, run func()) func() {
		return func() {
			if b.Disabled() {
				tb.showMessage(name + " is off: see Segment > Models…")
				return
			}
			run()
		}
	}
	add(Shortcut{Group: "Models", Name: "Segment", Key: fyne.KeyU, Run: enabled(mt.segment, "Segment", mt.runSegment),
		Help: "the U-Net over the whole scan, as a preview"})
	add(Shortcut{Group: "Models", Name: "Refine slice", Key: fyne.KeyR, Run: enabled(mt.refineSlice, "SAM", mt.runRefineSlice),
		Help: "SAM refines the chosen segment on the axial slice, as a preview"})
	add(Shortcut{Group: "Models", Name: "Refine volume", Key: fyne.KeyW, Run: enabled(mt.refineVolume, "SAM", mt.runRefineVolume),
		Help: "SAM refines the chosen segment on every axial slice, as a preview"})
	add(Shortcut{Group: "Models", Name: "Models", Key: fyne.KeyM, Run: mt.showModels,
		Help: "which models were found, and why others were not"})

	add(Shortcut{Group: "Edit", Name: "Undo", Key: fyne.KeyZ, Modifier: fyne.KeyModifierShortcutDefault,
		Run: func() { m.session.Undo() }, Help: "a stroke, a polygon, a fill or an accepted preview is one step; with a preview pending, its last SAM click, else the preview"})
	add(Shortcut{Group: "Edit", Name: "Redo", Key: fyne.KeyY, Modifier: fyne.KeyModifierShortcutDefault,
		Run: func() { m.session.Redo() }})
	add(Shortcut{Group: "File", Name: "Open file", Key: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault, Run: m.openFileDialog})
	add(Shortcut{Group: "File", Name: "Open DICOM folder", Key: fyne.KeyD, Modifier: fyne.KeyModifierShortcutDefault, Run: m.openFolderDialog})
	add(Shortcut{Group: "File", Name: "Open labels", Key: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault, Run: m.openLabelsDialog,
		Help: "a label volume for the open scan (resampled onto its grid)"})
	add(Shortcut{Group: "File", Name: "Export labels", Key: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault, Run: m.exportDialog})

	wl := m.worklist
	add(Shortcut{Group: "Dataset", Name: "Next case", Key: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault,
		Run: func() { wl.step(1, false, "") }, Help: "in the worklist's order; the case left is saved into the dataset"})
	add(Shortcut{Group: "Dataset", Name: "Previous case", Key: fyne.KeyP, Modifier: fyne.KeyModifierShortcutDefault,
		Run: func() { wl.step(-1, false, "") }})
	add(Shortcut{Group: "Dataset", Name: "Done, next case", Key: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault,
		Run: wl.doneAndNext, Help: "mark the case done and open the next one still to do"})
	add(Shortcut{Group: "Dataset", Name: "Save case", Key: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift,
		Run: wl.saveCase, Help: "into the dataset, keeping it open"})

	for n, p := range viewer.Presets() {
		if n >= len(presetKeys) {
			break
		}
		w := p.Window
		add(Shortcut{Group: "View", Name: presetLabel(p) + " window", Key: presetKeys[n], Run: func() { m.session.SetWindow(w) }})
	}
	add(Shortcut{Group: "View", Name: "Maximise or restore view", Key: fyne.KeyF, Run: m.toggleActiveMaximised})
	view := func(f func(v *SliceView)) func() { return func() { f(m.keyView()) } }
	add(Shortcut{Group: "View", Name: "Next slice", Key: fyne.KeyUp, Also: []fyne.KeyName{fyne.KeyRight},
		Run: view(func(v *SliceView) { v.StepSlice(1) }), Help: "towards superior, anterior or right"})
	add(Shortcut{Group: "View", Name: "Previous slice", Key: fyne.KeyDown, Also: []fyne.KeyName{fyne.KeyLeft},
		Run: view(func(v *SliceView) { v.StepSlice(-1) })})
	add(Shortcut{Group: "View", Name: "Ten slices on", Key: fyne.KeyPageUp, Run: view(func(v *SliceView) { v.StepSlice(10) })})
	add(Shortcut{Group: "View", Name: "Ten slices back", Key: fyne.KeyPageDown, Run: view(func(v *SliceView) { v.StepSlice(-10) })})
	// Zoom and Home act on the 3D view when it is the one under the mouse.
	view3d := func(f func(v *View3D), g func(v *SliceView)) func() {
		return func() {
			if m.max3D || m.active3D && m.maximised == nil {
				f(m.view3d)
				return
			}
			g(m.keyView())
		}
	}
	add(Shortcut{Group: "View", Name: "Zoom in", Key: fyne.KeyPlus, Also: []fyne.KeyName{fyne.KeyEqual},
		Run: view3d(func(v *View3D) { v.Zoom(zoomStep) }, func(v *SliceView) { v.Zoom(zoomStep) })})
	add(Shortcut{Group: "View", Name: "Zoom out", Key: fyne.KeyMinus,
		Run: view3d(func(v *View3D) { v.Zoom(1 / zoomStep) }, func(v *SliceView) { v.Zoom(1 / zoomStep) })})
	add(Shortcut{Group: "View", Name: "Reset zoom and pan", Key: fyne.KeyHome,
		Run:  view3d((*View3D).ResetCamera, func(v *SliceView) { v.ResetView() }),
		Help: "of the view under the mouse; the 3D view looks from the front again, every surface in view"})

	for _, e := range [][3]string{
		{"Click or left-drag", "Crosshair or tool", "moves the crosshair (Navigate), or is the tool's gesture"},
		{"Wheel", "Slices", "a stroke under way goes on on the new slice"},
		{"Ctrl+wheel", "Zoom", ""},
		{"Right-drag", "Window", "across sets the width, down the level"},
		{"Middle-drag or Shift+drag", "Pan", ""},
		{"Double-click", "Maximise or restore view; with the polygon tool, close the polygon", ""},
		{"Drag in the 3D view", "Turn the scene", "across about the patient's long axis, up and down about the screen's horizontal"},
		{"Wheel in the 3D view", "Zoom the 3D view", ""},
		{"Middle-drag or Shift+drag in the 3D view", "Pan the 3D view", ""},
		{"Click in the 3D view", "Crosshair to the surface", "the crosshair moves to the point of the surface clicked, and the slice views follow"},
	} {
		add(Shortcut{Group: "Mouse", Mouse: e[0], Name: e[1], Help: e[2]})
	}
	add(Shortcut{Group: "Help", Name: "Keys and mouse", Key: fyne.KeyF1, Rune: '?', Run: m.showHelp,
		Help: "this list"})
	return t
}

// keyView returns the view keys act on: the maximised one, else the one
// the mouse was last over.
func (m *MainWindow) keyView() *SliceView {
	if m.maximised != nil {
		return m.maximised
	}
	return m.active
}

// helpText returns the table as plain text, one line per entry, for the
// help panel's tests and for logs.
func helpText(t *Shortcuts) string {
	var b strings.Builder
	names, groups := t.Groups()
	for n, g := range groups {
		fmt.Fprintf(&b, "%s\n", names[n])
		for _, s := range g {
			fmt.Fprintf(&b, "  %s\t%s\n", s.KeyLabel(), s.Name)
		}
	}
	return b.String()
}
