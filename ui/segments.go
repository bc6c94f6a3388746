package ui

import (
	"fmt"
	"image/color"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// segmentList is the segment list beside the views: one row per segment
// (the values present in the labels and those added while empty) with a
// visibility check, its colour (tap to change it), a lock, and its value,
// name and size; the selected row is the segment the tools paint and the
// models work on. Buttons under it add, rename, recolour, renumber and
// delete segments, and "Overwrite others" chooses the masking mode.
type segmentList struct {
	m       *MainWindow
	session *app.Session

	box       fyne.CanvasObject
	list      *widget.List
	overwrite *widget.Check
	segs      []app.Segment
	selected  uint16 // the segment chosen, listed or not
	// reselecting is set while the list's selection is put back after a
	// refresh, so that OnSelected does not take it for the user's choice.
	reselecting bool

	// onChoose hears the segment the user chose in the list.
	onChoose func(value uint16)
}

func newSegmentList(m *MainWindow) *segmentList {
	s := m.session
	sl := &segmentList{m: m, session: s, selected: defaultToolLabel}
	sl.list = widget.NewList(
		func() int { return len(sl.segs) },
		func() fyne.CanvasObject {
			lock := widget.NewButtonWithIcon("", unlockedIcon, nil)
			lock.Importance = widget.LowImportance
			return container.NewBorder(nil, nil,
				container.NewHBox(widget.NewCheck("", nil), newSwatch(), lock), nil,
				widget.NewLabel(""))
		},
		sl.updateItem,
	)
	sl.list.OnSelected = func(n widget.ListItemID) {
		if sl.reselecting || n < 0 || n >= len(sl.segs) {
			return
		}
		sl.selected = sl.segs[n].Value
		if sl.onChoose != nil {
			sl.onChoose(sl.selected)
		}
		m.giveKeysBack(sl.list)
	}
	sl.overwrite = widget.NewCheck("Overwrite others", func(on bool) {
		s.SetOverwriteOthers(on)
		m.giveKeysBack(sl.overwrite)
	})
	buttons := container.NewGridWithColumns(3,
		widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), sl.showAdd),
		widget.NewButton("Rename", sl.showRename),
		widget.NewButtonWithIcon("Colour", theme.ColorPaletteIcon(), sl.showRecolour),
		widget.NewButton("Renumber", sl.showRenumber),
		widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), sl.showDelete),
		widget.NewButtonWithIcon("Go to", theme.SearchIcon(), sl.goTo),
	)
	sl.box = container.NewBorder(nil, container.NewVBox(buttons, sl.overwrite), nil, nil, sl.list)
	return sl
}

// updateItem shows segment n in a list row.
func (sl *segmentList) updateItem(n widget.ListItemID, o fyne.CanvasObject) {
	if n < 0 || n >= len(sl.segs) {
		return
	}
	seg := sl.segs[n]
	row := o.(*fyne.Container)
	text := row.Objects[0].(*widget.Label)
	left := row.Objects[1].(*fyne.Container)
	check := left.Objects[0].(*widget.Check)
	sw := left.Objects[1].(*swatch)
	lock := left.Objects[2].(*widget.Button)

	label := fmt.Sprintf("%d %s (%s)", seg.Value, seg.Name, volumeML(seg.VolumeML))
	if text.Text != label {
		text.SetText(label)
	}
	// The row is reused for other segments: detach the old callback before
	// setting the state, or setting it would hide the previous segment.
	value := seg.Value
	check.OnChanged = nil
	check.SetChecked(!seg.Hidden)
	check.OnChanged = func(on bool) {
		sl.session.SetHidden(value, !on)
		sl.m.giveKeysBack(check)
	}
	c := seg.Color
	c.A = 255
	sw.setColor(c)
	sw.onTap = func() { sl.recolour(value) }
	icon := unlockedIcon
	if seg.Locked {
		icon = lockedIcon
	}
	if lock.Icon != icon {
		lock.SetIcon(icon)
	}
	lock.OnTapped = func() { sl.session.SetLocked(value, !sl.session.SegmentOf(value).Locked) }
}

// update lists the segments afresh (cheap: the session keeps the counts)
// and puts the selection back on the chosen segment.
func (sl *segmentList) update() {
	sl.segs = sl.session.Segments()
	if on := sl.session.OverwriteOthers(); sl.overwrite.Checked != on {
		sl.overwrite.SetChecked(on)
	}
	sl.list.Refresh()
	sl.reselect()
}

// setSelected makes value the chosen segment (chosen elsewhere: the model
// tools' label, a new segment).
func (sl *segmentList) setSelected(value uint16) {
	sl.selected = value
	sl.reselect()
}

func (sl *segmentList) reselect() {
	n := slices.IndexFunc(sl.segs, func(s app.Segment) bool { return s.Value == sl.selected })
	sl.reselecting = true
	defer func() { sl.reselecting = false }()
	if n < 0 {
		sl.list.UnselectAll()
		return
	}
	sl.list.Select(n)
}

// choose makes value the chosen segment, as a click on its row would.
func (sl *segmentList) choose(value uint16) {
	sl.setSelected(value)
	if sl.onChoose != nil {
		sl.onChoose(value)
	}
}

// step chooses the next (d = 1) or previous (d = -1) segment of the list.
func (sl *segmentList) step(d int) {
	if len(sl.segs) == 0 {
		return
	}
	n := slices.IndexFunc(sl.segs, func(s app.Segment) bool { return s.Value == sl.selected })
	switch {
	case n < 0 && d > 0:
		n = 0
	case n < 0:
		n = len(sl.segs) - 1
	default:
		n = (n + d + len(sl.segs)) % len(sl.segs)
	}
	sl.choose(sl.segs[n].Value)
}

// goTo moves the crosshair into the chosen segment.
func (sl *segmentList) goTo() {
	if c, ok := sl.session.LabelCentre(sl.selected); ok {
		sl.session.SetCursor(c)
	}
}

func (sl *segmentList) toggleHidden() {
	seg := sl.session.SegmentOf(sl.selected)
	sl.session.SetHidden(seg.Value, !seg.Hidden)
}

func (sl *segmentList) toggleLocked() {
	seg := sl.session.SegmentOf(sl.selected)
	sl.session.SetLocked(seg.Value, !seg.Locked)
}

func (sl *segmentList) toggleOverwrite() { sl.overwrite.SetChecked(!sl.overwrite.Checked) }

// showError shows err in a dialog.
func (sl *segmentList) showError(err error) {
	if err != nil {
		sl.m.showError("", err)
	}
}

// add lists a segment named name and chooses it.
func (sl *segmentList) add(name string) error {
	v, err := sl.session.AddSegment(name)
	if err != nil {
		return err
	}
	sl.update()
	sl.choose(v)
	return nil
}

// showAdd asks for the new segment's name: one of the colour table's
// (with its value and colour), or any other.
func (sl *segmentList) showAdd() {
	if v, _ := sl.session.Volume(); v == nil {
		sl.m.showInfo("Add segment", "Open a scan first.")
		return
	}
	listed := map[uint16]bool{}
	for _, s := range sl.segs {
		listed[s.Value] = true
	}
	var names []string
	sl.session.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		for _, e := range l.Table.Labels() {
			if e.Value != 0 && !listed[e.Value] {
				names = append(names, e.Name)
			}
		}
	})
	name := newKeySelectEntry(names)
	name.PlaceHolder = "a name from the colour table, or a new one"
	d := dialog.NewForm("Add segment", "Add", "Cancel", []*widget.FormItem{widget.NewFormItem("Name", name)},
		func(ok bool) {
			if ok {
				sl.showError(sl.add(name.Text))
			}
		}, sl.m.win)
	d.Resize(fyne.NewSize(420, 180))
	sl.m.askText(d, name)
}

// chosen returns the chosen segment, and false (after saying so) when it
// is not in the list.
func (sl *segmentList) chosen(what string) (app.Segment, bool) {
	for _, s := range sl.segs {
		if s.Value == sl.selected {
			return s, true
		}
	}
	sl.m.showInfo(what, "Choose a segment in the list first.")
	return app.Segment{}, false
}

func (sl *segmentList) showRename() {
	seg, ok := sl.chosen("Rename segment")
	if !ok {
		return
	}
	name := newKeyEntry()
	name.SetText(seg.Name)
	sl.m.askText(dialog.NewForm(fmt.Sprintf("Rename segment %d", seg.Value), "Rename", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Name", name)}, func(ok bool) {
			if ok {
				sl.showError(sl.session.SetSegment(seg.Value, name.Text, seg.Color))
			}
		}, sl.m.win), name)
}

func (sl *segmentList) showRecolour() {
	if seg, ok := sl.chosen("Segment colour"); ok {
		sl.recolour(seg.Value)
	}
}

// recolour asks for a new colour for segment value.
func (sl *segmentList) recolour(value uint16) {
	seg := sl.session.SegmentOf(value)
	d := dialog.NewColorPicker(fmt.Sprintf("Colour of %s", seg.Name), "", func(c color.Color) {
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		// The table's alpha is the segment's own opacity: keep it.
		n.A = seg.Color.A
		sl.showError(sl.session.SetSegment(value, seg.Name, n))
	}, sl.m.win)
	d.Advanced = true
	d.SetColor(seg.Color)
	sl.m.showDialog(d)
}

func (sl *segmentList) showRenumber() {
	seg, ok := sl.chosen("Renumber segment")
	if !ok {
		return
	}
	value := newKeyEntry()
	value.SetText(strconv.Itoa(int(seg.Value)))
	sl.m.askText(dialog.NewForm(fmt.Sprintf("Renumber %s (%d)", seg.Name, seg.Value), "Renumber", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Label value", value)}, func(ok bool) {
			if ok {
				sl.showError(sl.renumber(seg.Value, value.Text))
			}
		}, sl.m.win), value)
}

// renumber gives segment from the value typed in text.
func (sl *segmentList) renumber(from uint16, text string) error {
	to, err := strconv.ParseUint(strings.TrimSpace(text), 10, 16)
	if err != nil || to == 0 {
		return fmt.Errorf("renumber: %q is not a label value (1 to 65535)", text)
	}
	if _, err := sl.session.RenumberSegment(from, uint16(to)); err != nil {
		return err
	}
	sl.update()
	sl.choose(uint16(to))
	return nil
}

// showDelete asks before deleting the chosen segment's voxels.
func (sl *segmentList) showDelete() {
	seg, ok := sl.chosen("Delete segment")
	if !ok {
		return
	}
	msg := fmt.Sprintf("Delete %s (%d) and its %s?\nUndo (Ctrl+Z) brings it back.", seg.Name, seg.Value, voxelCount(seg.Voxels))
	sl.m.showDialog(dialog.NewConfirm("Delete segment", msg, func(yes bool) {
		if yes {
			_, err := sl.session.DeleteSegment(seg.Value)
			sl.showError(err)
		}
	}, sl.m.win))
}

// swatch is a segment's colour in its row; tapping it changes the colour.
type swatch struct {
	widget.BaseWidget
	rect  *canvas.Rectangle
	onTap func()
}

func newSwatch() *swatch {
	s := &swatch{rect: canvas.NewRectangle(color.Black)}
	s.rect.CornerRadius = 3
	s.ExtendBaseWidget(s)
	return s
}

func (s *swatch) setColor(c color.NRGBA) {
	if s.rect.FillColor != c {
		s.rect.FillColor = c
		s.rect.Refresh()
	}
}

// Tapped implements fyne.Tappable.
func (s *swatch) Tapped(*fyne.PointEvent) {
	if s.onTap != nil {
		s.onTap()
	}
}

// CreateRenderer implements fyne.Widget.
func (s *swatch) CreateRenderer() fyne.WidgetRenderer {
	return &swatchRenderer{s: s}
}

type swatchRenderer struct{ s *swatch }

func (r *swatchRenderer) Layout(size fyne.Size) {
	// A 14-unit square centred in the row's height.
	const side = 14
	r.s.rect.Resize(fyne.NewSize(side, side))
	r.s.rect.Move(fyne.NewPos((size.Width-side)/2, (size.Height-side)/2))
}
func (r *swatchRenderer) MinSize() fyne.Size           { return fyne.NewSize(18, 18) }
func (r *swatchRenderer) Refresh()                     { r.s.rect.Refresh() }
func (r *swatchRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.s.rect} }
func (r *swatchRenderer) Destroy()                     {}
