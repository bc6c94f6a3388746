package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
)

// windowPresets is the display window's control above the views, where
// the 3D view took its place in the views' grid: a button per preset
// (keys 1–4, View > Window) and the window in use.
type windowPresets struct {
	session *app.Session
	box     *fyne.Container
	label   *widget.Label
	buttons []*widget.Button
}

func newWindowPresets(s *app.Session) *windowPresets {
	w := &windowPresets{session: s, label: widget.NewLabel("")}
	objs := []fyne.CanvasObject{widget.NewLabel("Window")}
	for _, p := range viewer.Presets() {
		win := p.Window
		// The name alone: the label beside says the width and level.
		b := widget.NewButton(strings.ToUpper(p.Name[:1])+p.Name[1:], func() { s.SetWindow(win) })
		w.buttons = append(w.buttons, b)
		objs = append(objs, b)
	}
	objs = append(objs, w.label)
	w.box = container.NewHBox(objs...)
	w.update()
	return w
}

// update shows the window in use, naming its preset and marking its
// button when it is one.
func (w *windowPresets) update() {
	win := w.session.Window()
	text := win.String()
	for n, p := range viewer.Presets() {
		imp := widget.MediumImportance
		if p.Window == win {
			text += " (" + strings.ToLower(p.Name) + ")"
			imp = widget.HighImportance
		}
		if b := w.buttons[n]; b.Importance != imp {
			b.Importance = imp
			b.Refresh()
		}
	}
	if w.label.Text != text {
		w.label.SetText(text)
	}
}
