package ui

import (
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// sidebar holds the display controls: the window (in the fourth cell of
// the views' grid, the legend) and the label overlay (box, right of the
// views).
type sidebar struct {
	session *app.Session

	legend      fyne.CanvasObject
	windowLabel *widget.Label
	presets     []*widget.Button

	box     fyne.CanvasObject
	opacity *widget.Slider
	outline *widget.Check
	list    *widget.List
	labels  []app.LabelCount
	colors  map[uint16]color.NRGBA

	// onChoose, if set, hears the label value chosen in the list: the
	// model tools work on it.
	onChoose func(value uint16)
}

const mouseHelp = `Click: move the crosshair
Wheel, ↑ ↓, Page Up/Down: slices
Ctrl+wheel, + −: zoom;  Home: reset
Right-drag or 1–4: window;  middle- or shift-drag: pan
Double-click or F: maximise / restore
B: box tool (left-drag a box on the axial view: SAM)
Enter / Esc: accept / reject a preview`

func newSidebar(s *app.Session, views []*SliceView) *sidebar {
	sb := &sidebar{session: s, colors: map[uint16]color.NRGBA{}}

	sb.windowLabel = widget.NewLabel("")
	var buttons []fyne.CanvasObject
	for _, p := range viewer.Presets() {
		w := p.Window
		b := widget.NewButton(presetLabel(p), func() { s.SetWindow(w) })
		sb.presets = append(sb.presets, b)
		buttons = append(buttons, b)
	}
	reset := widget.NewButton("Reset zoom", func() {
		for _, v := range views {
			v.ResetView()
		}
	})
	help := widget.NewLabel(mouseHelp)
	help.TextStyle.Italic = true
	sb.legend = container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Window", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		sb.windowLabel,
		container.NewGridWithColumns(2, buttons...),
		reset,
		help,
	))

	sb.opacity = widget.NewSlider(0, 1)
	sb.opacity.Step = 0.05
	sb.opacity.SetValue(app.DefaultOpacity)
	sb.opacity.OnChanged = s.SetOpacity
	sb.outline = widget.NewCheck("Outline only", s.SetOutline)
	sb.list = widget.NewList(
		func() int { return len(sb.labels) },
		func() fyne.CanvasObject {
			swatch := canvas.NewRectangle(color.Black)
			swatch.SetMinSize(fyne.NewSize(14, 14))
			swatch.CornerRadius = 3
			return container.NewBorder(nil, nil,
				container.NewHBox(widget.NewCheck("", nil), container.NewCenter(swatch)), nil,
				widget.NewLabel(""))
		},
		sb.updateItem,
	)
	// Selecting a label takes the crosshair to it, so a structure named in
	// the list can be found in the scan, and makes it the label the model
	// tools work on.
	sb.list.OnSelected = func(n widget.ListItemID) {
		if n >= 0 && n < len(sb.labels) {
			if c, ok := s.LabelCentre(sb.labels[n].Value); ok {
				s.SetCursor(c)
			}
			if sb.onChoose != nil {
				sb.onChoose(sb.labels[n].Value)
			}
		}
		sb.list.UnselectAll()
	}
	top := container.NewVBox(
		widget.NewLabelWithStyle("Labels", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, widget.NewLabel("Opacity"), nil, sb.opacity),
		sb.outline,
	)
	sb.box = container.NewBorder(top, nil, nil, nil, sb.list)
	return sb
}

// updateItem shows label n in a list row: a visibility check, its colour,
// its value, name and size.
func (sb *sidebar) updateItem(n widget.ListItemID, o fyne.CanvasObject) {
	if n < 0 || n >= len(sb.labels) {
		return
	}
	l := sb.labels[n]
	row := o.(*fyne.Container)
	text := row.Objects[0].(*widget.Label)
	left := row.Objects[1].(*fyne.Container)
	check := left.Objects[0].(*widget.Check)
	swatch := left.Objects[1].(*fyne.Container).Objects[0].(*canvas.Rectangle)

	text.SetText(fmt.Sprintf("%d %s (%s)", l.Value, l.Name, voxelCount(l.Voxels)))
	// The row is reused for other labels: detach the old callback before
	// setting the state, or setting it would hide the previous label.
	check.OnChanged = nil
	check.SetChecked(!l.Hidden)
	value := l.Value
	check.OnChanged = func(on bool) { sb.session.SetHidden(value, !on) }
	c := sb.colors[l.Value]
	c.A = 255
	swatch.FillColor = c
	swatch.Refresh()
}

func voxelCount(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM vx", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk vx", float64(n)/1e3)
	}
	return fmt.Sprintf("%d vx", n)
}

// updateLabels refreshes the label list; counting voxels reads the whole
// label volume, so it is done only when voxels changed.
func (sb *sidebar) updateLabels(voxelsChanged bool) {
	if voxelsChanged {
		sb.labels = sb.session.PresentLabels()
	}
	var opacity float64
	var outline bool
	hidden := map[uint16]bool{}
	sb.session.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		opacity, outline = l.Opacity, l.Outline
		for _, lc := range sb.labels {
			sb.colors[lc.Value] = l.Table.Color(lc.Value)
			hidden[lc.Value] = l.Hidden[lc.Value]
		}
	})
	for n := range sb.labels {
		sb.labels[n].Hidden = hidden[sb.labels[n].Value]
	}
	if sb.opacity.Value != opacity {
		sb.opacity.SetValue(opacity)
	}
	if sb.outline.Checked != outline {
		sb.outline.SetChecked(outline)
	}
	sb.list.Refresh()
}

func (sb *sidebar) updateWindow() {
	w := sb.session.Window()
	text := w.String()
	for _, p := range viewer.Presets() {
		if p.Window == w {
			text += " (" + strings.ToLower(p.Name) + ")"
		}
	}
	sb.windowLabel.SetText(text)
}
