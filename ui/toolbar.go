package ui

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/app/tools"
	"github.com/polyseg/polyseg/viewer"
)

// brushStep is how much [ and ] change the brush's size.
const brushStep = 1.25

// toolbar is the row of annotation tools above the views: a button per
// tool (the SAM box is the model tools' button), the brush's size and
// shape, the HU range with "pick from the crosshair", the segment being
// painted, and what the last gesture could not do. The tools themselves
// are app/tools' Editor; the toolbar only sets it up.
type toolbar struct {
	m      *MainWindow
	editor *tools.Editor

	row     *fyne.Container
	buttons map[tools.Kind]*widget.Button
	items   map[tools.Kind]*fyne.MenuItem
	size    *keyEntry
	sphere  *widget.Check
	huMin   *keyEntry
	huMax   *keyEntry
	pick    *widget.Button
	swatch  *canvas.Rectangle
	segment *widget.Label
	message *widget.Label // in the window's message band (band.go)

	gestureErr bool // the gesture going on reported an error
}

func newToolbar(m *MainWindow) *toolbar {
	tb := &toolbar{m: m, editor: tools.New(m.session), buttons: map[tools.Kind]*widget.Button{},
		items: map[tools.Kind]*fyne.MenuItem{}}
	tb.editor.OnBox = func(p viewer.Plane, slice int, a, b [3]int) {
		if p != viewer.Axial {
			tb.gestureError(errors.New("the SAM box works on the axial view: SAM segments axial slices"))
			return
		}
		m.tools.boxDrawn(m.View(p), slice, a, b)
	}
	// SAM clicks: a refusal is the tool bar's message, a failure of the
	// decode the model tools' (as for the box).
	tb.editor.OnJob = func(job *app.Job, err error) {
		if err != nil {
			tb.gestureError(err)
			return
		}
		m.tools.start(job, nil)
	}
	set := tb.editor.Settings()
	set.Value = m.tools.value
	tb.editor.SetSettings(set)

	tb.segment = widget.NewLabel("")
	tb.message = widget.NewLabel("")
	tb.message.Truncation = fyne.TextTruncateEllipsis

	var objs []fyne.CanvasObject
	for _, k := range tools.Kinds {
		k := k
		b := m.tools.box // the SAM box keeps its button, enabled with SAM
		if k != tools.Box {
			b = widget.NewButton(k.String(), func() { tb.selectTool(k) })
		}
		tb.buttons[k] = b
		objs = append(objs, b)
		tb.items[k] = fyne.NewMenuItem(k.String(), func() { tb.selectTool(k) })
	}

	// The fields keep the keys while the user types; Enter or Esc gives
	// them back to the views (focus.go).
	field := func() *keyEntry {
		e := newKeyEntry()
		e.window = m
		e.OnSubmitted = func(string) { m.giveKeysBack(e) }
		e.onEsc = func() { m.giveKeysBack(e) }
		return e
	}
	tb.size = field()
	tb.size.SetText(formatMM(set.SizeMM))
	tb.size.OnChanged = func(s string) { tb.parseSize(s) }
	tb.sphere = widget.NewCheck("3D", func(on bool) {
		set := tb.editor.Settings()
		set.Sphere = on
		tb.editor.SetSettings(set)
		m.giveKeysBack(tb.sphere)
	})
	tb.huMin, tb.huMax = field(), field()
	tb.huMin.OnChanged = func(string) { tb.parseHU() }
	tb.huMax.OnChanged = func(string) { tb.parseHU() }
	tb.showHU(set.HU)
	tb.pick = widget.NewButton("Pick", tb.pickHU)
	tb.swatch = canvas.NewRectangle(color.Black)
	tb.swatch.SetMinSize(fyne.NewSize(14, 14))
	tb.swatch.CornerRadius = 3

	sized := func(e *keyEntry, width float32) fyne.CanvasObject {
		return container.NewGridWrap(fyne.NewSize(width, e.MinSize().Height), e)
	}
	tb.segment.Truncation = fyne.TextTruncateEllipsis
	objs = append(objs, widget.NewSeparator(),
		sized(tb.size, 60), widget.NewLabel("mm"), tb.sphere,
		widget.NewSeparator(),
		widget.NewLabel("HU"), sized(tb.huMin, 60), widget.NewLabel("–"), sized(tb.huMax, 60), tb.pick,
		widget.NewSeparator(), container.NewCenter(tb.swatch))
	// The segment's name takes what width is left, so that the bar fits a
	// 1280-pixel screen; messages go to the band under the bars, which
	// has the whole width.
	tb.message.Hide()
	tb.row = container.NewBorder(nil, nil, container.NewHBox(objs...), nil, tb.segment)

	for _, v := range m.views {
		v.SetEditor(tb.editor, tb.gestureError, tb.gestureDone)
	}
	tb.selectTool(tools.Navigate)
	return tb
}

func formatMM(mm float64) string { return strconv.FormatFloat(math.Round(mm*10)/10, 'f', -1, 64) }

// labelKeys names each tool button and menu item after its key in the
// shortcut table, once the table is made.
func (tb *toolbar) labelKeys(keys *Shortcuts) {
	for k, b := range tb.buttons {
		label := k.String()
		if key := keys.keyOf(k.String()); key != "" {
			label += " (" + key + ")"
		}
		b.SetText(label)
		tb.items[k].Label = label
	}
}

// selectTool makes k the tool of every view; the SAM box only while SAM
// can run.
func (tb *toolbar) selectTool(k tools.Kind) {
	if (k == tools.Box || k == tools.Points) && tb.m.tools.box.Disabled() {
		tb.showMessage("The " + k.String() + " tool needs SAM: see Segment > Models…")
		return
	}
	tb.editor.SetTool(k)
	for kind, b := range tb.buttons {
		imp := widget.MediumImportance
		if kind == k {
			imp = widget.HighImportance
		}
		if b.Importance != imp {
			b.Importance = imp
			b.Refresh()
		}
		tb.items[kind].Checked = kind == k
	}
	if tb.m.tools.boxOn != (k == tools.Box) {
		tb.m.tools.setBox(k == tools.Box)
	}
	for _, v := range tb.m.views {
		v.updateToolLayer()
	}
	if mm := tb.m.win.MainMenu(); mm != nil {
		mm.Refresh()
	}
}

// boxChanged hears the model tools turn the box on or off (B, the box
// button, SAM becoming unavailable).
func (tb *toolbar) boxChanged(on bool) {
	switch {
	case on && tb.editor.Tool() != tools.Box:
		tb.selectTool(tools.Box)
	case !on && tb.editor.Tool() == tools.Box:
		tb.selectTool(tools.Navigate)
	}
}

// menu returns the Tools menu.
func (tb *toolbar) menu() *fyne.Menu {
	var items []*fyne.MenuItem
	for _, k := range tools.Kinds {
		items = append(items, tb.items[k])
	}
	return fyne.NewMenu("Tools", items...)
}

func (tb *toolbar) parseSize(s string) {
	mm, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(mm > 0) {
		return // typing: wait for a number
	}
	set := tb.editor.Settings()
	set.SizeMM = mm
	tb.editor.SetSettings(set)
	tb.refreshCursors()
}

// stepSize makes the brush brushStep times larger (up) or smaller.
func (tb *toolbar) stepSize(up bool) {
	set := tb.editor.Settings()
	if up {
		set.SizeMM *= brushStep
	} else {
		set.SizeMM /= brushStep
	}
	set.SizeMM = math.Round(set.SizeMM*10) / 10
	tb.editor.SetSettings(set)
	tb.size.SetText(formatMM(tb.editor.Settings().SizeMM))
	tb.refreshCursors()
}

func (tb *toolbar) refreshCursors() {
	for _, v := range tb.m.views {
		v.updateToolLayer()
	}
}

// toggleSphere switches the brush between a disc and a ball.
func (tb *toolbar) toggleSphere() { tb.sphere.SetChecked(!tb.sphere.Checked) }

func (tb *toolbar) showHU(r app.HURange) {
	tb.huMin.SetText(strconv.FormatFloat(r.Min, 'f', -1, 64))
	tb.huMax.SetText(strconv.FormatFloat(r.Max, 'f', -1, 64))
}

func (tb *toolbar) parseHU() {
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(tb.huMin.Text), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(tb.huMax.Text), 64)
	if err1 != nil || err2 != nil {
		return
	}
	set := tb.editor.Settings()
	set.HU = app.HURange{Min: lo, Max: hi}
	if err := tb.editor.SetSettings(set); err != nil {
		tb.showMessage(err.Error())
		return
	}
	tb.showMessage("")
}

// pickHU takes the HU range from the scan around the crosshair.
func (tb *toolbar) pickHU() {
	r, err := tb.editor.PickHU(tb.m.session.Cursor())
	if err != nil {
		tb.showMessage(err.Error())
		return
	}
	tb.showHU(r)
	tb.showMessage(fmt.Sprintf("HU range %g to %g, from around the crosshair", r.Min, r.Max))
}

// setValue makes value the segment the tools paint.
func (tb *toolbar) setValue(value uint16) {
	set := tb.editor.Settings()
	set.Value = value
	tb.editor.SetSettings(set)
	tb.updateSegment()
}

// updateSegment shows the segment being painted, with its colour.
func (tb *toolbar) updateSegment() {
	seg := tb.m.session.SegmentOf(tb.editor.Settings().Value)
	text := fmt.Sprintf("%d %s", seg.Value, seg.Name)
	if seg.Locked {
		text += " (locked)"
	}
	if tb.segment.Text != text {
		tb.segment.SetText(text)
	}
	c := seg.Color
	c.A = 255
	if tb.swatch.FillColor != c {
		tb.swatch.FillColor = c
		tb.swatch.Refresh()
	}
}

// showMessage shows what a tool could not do in the message band; ""
// clears it.
func (tb *toolbar) showMessage(text string) { tb.say(text, true) }

// gestureError shows what a gesture could not do.
func (tb *toolbar) gestureError(err error) {
	tb.gestureErr = true
	msg := err.Error()
	if errors.Is(err, app.ErrNoVolume) {
		msg = "Open a scan first."
	}
	tb.showMessage(msg)
}

// gestureDone clears the last message once a gesture went through.
func (tb *toolbar) gestureDone() {
	if !tb.gestureErr {
		tb.showMessage("")
	}
	tb.gestureErr = false
}

// key hands k to the tool; it reports whether the tool used it.
func (tb *toolbar) key(k tools.Key) bool {
	handled, err := tb.editor.Key(k)
	if err != nil {
		tb.gestureError(err)
	} else if handled {
		tb.showMessage("")
	}
	tb.refreshCursors()
	return handled
}
