package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
)

// The choices of the Fill between slices dialog, in the order shown.
var (
	fillPlanes = []string{"Axial", "Coronal", "Sagittal"}
	fillModes  = []string{
		"Shape only (interpolated signed distance)",
		"Shape corrected by SAM (axial slices)",
	}
)

// fillBetweenMenu returns the Interpolate menu: Fill between slices….
func fillBetweenMenu(m *MainWindow) *fyne.Menu {
	return fyne.NewMenu("Interpolate", fyne.NewMenuItem("Fill between slices…", func() { showFillBetween(m) }))
}

// showFillBetween asks which label to fill, across which plane's slices
// and how, then starts the fill; its result is a preview that Enter
// accepts and Esc rejects, as a model's. The label starts as the one the
// tools work on when it is drawn, the plane as the view last used.
func showFillBetween(m *MainWindow) {
	present := m.session.PresentLabels()
	if len(present) == 0 {
		m.showError("", fmt.Errorf("fill between slices: draw a label on a few slices first"))
		return
	}
	var names []string
	values := map[string]uint16{}
	chosen := ""
	for _, l := range present {
		name := fmt.Sprintf("%d %s", l.Value, l.Name)
		names = append(names, name)
		values[name] = l.Value
		if l.Value == m.tools.value || chosen == "" {
			chosen = name
		}
	}
	label := widget.NewSelect(names, nil)
	label.SetSelected(chosen)
	plane := widget.NewRadioGroup(fillPlanes, nil)
	plane.Horizontal = true
	plane.SetSelected(fillPlanes[m.active.Plane()])
	mode := widget.NewRadioGroup(fillModes, nil)
	mode.SetSelected(fillModes[0])
	form := widget.NewForm(
		widget.NewFormItem("Label", label),
		widget.NewFormItem("Slices", plane),
		widget.NewFormItem("Fill", mode),
	)
	note := widget.NewLabel("Fills the empty slices between the slices where the label is drawn; the ends are not extended. The result is a preview: Enter accepts it, Esc rejects it.")
	note.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(nil, note, nil, nil, form)
	d := dialog.NewCustomConfirm("Fill between slices", "Fill", "Cancel", container.NewGridWrap(fyne.NewSize(520, 230), content), func(ok bool) {
		if !ok {
			return
		}
		p := viewer.Axial
		for n, name := range fillPlanes {
			if plane.Selected == name {
				p = viewer.Planes[n]
			}
		}
		fm := app.FillShape
		if mode.Selected == fillModes[1] {
			fm = app.FillGuided
		}
		m.tools.start(m.session.FillBetween(p, values[label.Selected], fm))
	}, m.win)
	m.showDialog(d)
}
