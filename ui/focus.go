package ui

// Who gets the keys. Fyne's GLFW driver gives every key to the focused
// widget first and to the window (the shortcut table, keys.go) only when
// nothing has the focus; a modal dialog does not stop keys from reaching
// the window. So that keys act where the user means them to:
//
//   - while a dialog is open no entry of the table runs, and Esc closes
//     the dialog (showDialog remembers the dialogs the window opened);
//   - a dialog that asks for text gives its field the focus, and that
//     field gives Esc to the dialog and Enter to its default button;
//   - a control that is not for typing (a check box, a slider, a select,
//     the segment list) gives the focus back once it has done its job, and
//     the views take it back from such a control when the mouse comes over
//     them; a text field keeps it until Enter, Esc, or a click elsewhere.

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// modal is what the window needs of a dialog it shows: dialog.Dialog and
// dialog.FileDialog both have it.
type modal interface {
	Show()
	Dismiss()
	SetOnClosed(func())
}

// showDialog shows d and remembers it until it closes, so that Esc closes
// it and the window's keys do not act behind it.
func (m *MainWindow) showDialog(d modal) {
	m.dialogs = append(m.dialogs, d)
	d.SetOnClosed(func() {
		if n := slices.Index(m.dialogs, d); n >= 0 {
			m.dialogs = slices.Delete(m.dialogs, n, n+1)
		}
	})
	d.Show()
}

// dialogOpen reports whether anything lies over the window's content: a
// dialog, or a pop-up such as a select's list.
func (m *MainWindow) dialogOpen() bool { return m.win.Canvas().Overlays().Top() != nil }

// dismissTop closes the dialog opened last, as its dismiss button would;
// a pop-up the window did not open (a select's list) is hidden.
func (m *MainWindow) dismissTop() {
	if n := len(m.dialogs); n > 0 {
		m.dialogs[n-1].Dismiss()
		return
	}
	if top := m.win.Canvas().Overlays().Top(); top != nil {
		top.Hide()
	}
}

// openDialogs returns how many dialogs the window has open.
func (m *MainWindow) openDialogs() int { return len(m.dialogs) }

// modifiers returns the keyboard modifiers held, as the driver tracks them
// (a desktop driver does; others report none).
func (m *MainWindow) modifiers() fyne.KeyModifier {
	if d, ok := m.driver.(desktop.Driver); ok {
		return d.CurrentKeyModifiers()
	}
	return 0
}

// giveKeysBack takes the focus from w, a control that has done its job
// (a check box toggled, a value chosen), so that the next key acts on the
// views. The focus is left alone when something else has it: a field of a
// dialog opened meanwhile.
func (m *MainWindow) giveKeysBack(w fyne.Focusable) {
	c := m.win.Canvas()
	if f := c.Focused(); f != nil && f == w {
		c.Unfocus()
	}
}

// textInput is what the fields a user types in have, and other controls
// lack; Fyne's driver tells them apart the same way.
type textInput interface {
	fyne.Focusable
	SelectedText() string
}

// takeKeysFromControls gives the keys to the views when a control that is
// not for typing still has the focus (a select whose list was closed
// without a choice); a text field keeps it.
func (m *MainWindow) takeKeysFromControls() {
	c := m.win.Canvas()
	f := c.Focused()
	if f == nil {
		return
	}
	if _, typing := f.(textInput); typing {
		return
	}
	c.Unfocus()
}

// keyEntry is a one-line text field that hands Esc to onEsc (a dialog
// closing, or the field giving the keys back) instead of ignoring it, as
// widget.Entry does. Enter runs OnSubmitted, as widget.Entry does.
type keyEntry struct {
	widget.Entry
	onEsc func()
	// window, when set, gets the window's shortcuts the field has no use
	// for (TypedShortcut).
	window *MainWindow
}

// TypedShortcut implements fyne.Shortcutable. The window's Ctrl and Alt
// shortcuts that a text field has no use for (Ctrl+S, Ctrl+Enter: the
// driver's desktop.CustomShortcut) reach the window from a field outside
// dialogs, such as the worklist's note; the field's own (Ctrl+Z, Ctrl+A,
// copy and paste: Fyne's standard shortcuts) stay the field's.
func (e *keyEntry) TypedShortcut(s fyne.Shortcut) {
	if e.window != nil && e.window.keys != nil && e.window.keys.customShortcut(s) {
		return
	}
	e.Entry.TypedShortcut(s)
}

func newKeyEntry() *keyEntry {
	e := &keyEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey implements fyne.Focusable.
func (e *keyEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.onEsc != nil {
		e.onEsc()
		return
	}
	e.Entry.TypedKey(ev)
}

// keySelectEntry is keyEntry with a list of choices (widget.SelectEntry).
type keySelectEntry struct {
	widget.SelectEntry
	onEsc func()
}

func newKeySelectEntry(options []string) *keySelectEntry {
	e := &keySelectEntry{}
	e.ExtendBaseWidget(e)
	e.SetOptions(options)
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	return e
}

// TypedKey implements fyne.Focusable.
func (e *keySelectEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.onEsc != nil {
		e.onEsc()
		return
	}
	e.SelectEntry.TypedKey(ev)
}

// askText shows a form dialog whose only field is field: the field has
// the focus, Enter submits the form and Esc closes it.
func (m *MainWindow) askText(d interface {
	modal
	Submit()
}, field fyne.Focusable) {
	switch e := field.(type) {
	case *keyEntry:
		e.onEsc = d.Dismiss
		e.OnSubmitted = func(string) { d.Submit() }
	case *keySelectEntry:
		e.onEsc = d.Dismiss
		e.OnSubmitted = func(string) { d.Submit() }
	}
	m.showDialog(d)
	// Later, not now: the key that opened the dialog (A) still has its
	// character to deliver, which the driver sends after the key, to
	// whatever has the focus then.
	fyne.Do(func() { m.win.Canvas().Focus(field) })
}

var (
	_ textInput = (*keyEntry)(nil)
	_ textInput = (*keySelectEntry)(nil)
)
