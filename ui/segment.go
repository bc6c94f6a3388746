package ui

import (
	"errors"
	"fmt"
	"image/color"
	"slices"
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

// previewColor outlines a model's pending result in the views: a cyan that
// no entry of the default colour table uses, so it reads as "not yet a
// label".
var previewColor = color.NRGBA{R: 0, G: 255, B: 255, A: 255}

// defaultToolLabel is the label the model tools start with: the liver,
// which the default U-Net and SAM's tuned window are for.
const defaultToolLabel = 5

// modelTools are the segmentation controls: a row of buttons above the
// views (Segment, Refine slice, Refine volume, the box tool and the label
// they work on), the preview banner, and the models' state beside the
// jobs bar.
type modelTools struct {
	m *MainWindow

	row                                *fyne.Container
	segment, refineSlice, refineVolume *widget.Button
	box                                *widget.Button
	label                              *widget.Select
	choices                            []string
	values                             []uint16
	value                              uint16 // the label value chosen
	boxOn                              bool
	banner                             *fyne.Container
	bannerText                         *canvas.Text
	engine                             *widget.Label
	segmentItem, refineSliceItem       *fyne.MenuItem
	refineVolumeItem, boxItem          *fyne.MenuItem
	acceptItem, rejectItem, modelsItem *fyne.MenuItem
	lastJob                            *app.Job      // the newest model job, for tests
	lastReported                       chan struct{} // closed once its failure, if any, is shown
	onValue                            func(uint16)  // hears the label value chosen
}

func newModelTools(m *MainWindow) *modelTools {
	t := &modelTools{m: m, value: defaultToolLabel}
	t.segment = widget.NewButtonWithIcon("Segment", theme.MediaPlayIcon(), t.runSegment)
	t.refineSlice = widget.NewButton("Refine slice (SAM)", t.runRefineSlice)
	t.refineVolume = widget.NewButton("Refine volume (SAM)", t.runRefineVolume)
	t.box = widget.NewButtonWithIcon("Box (B)", theme.ContentAddIcon(), t.toggleBox)
	t.label = widget.NewSelect(nil, func(s string) {
		for n, c := range t.choices {
			if c == s {
				t.value = t.values[n]
			}
		}
		if t.onValue != nil {
			t.onValue(t.value)
		}
		m.giveKeysBack(t.label)
	})
	t.updateLabelChoices()
	// The box button sits with the annotation tools (toolbar.go).
	t.row = container.NewHBox(t.segment, t.refineSlice, t.refineVolume,
		widget.NewLabel("Label"), t.label)

	// Light text on a dark band whatever the theme, as in the views.
	t.bannerText = canvas.NewText("", color.White)
	t.bannerText.TextStyle.Bold = true
	// The buttons name their keys: the banner's text is the preview's,
	// and leaves the band's message the room it needs (band.go).
	accept := widget.NewButtonWithIcon("Accept (Enter)", theme.ConfirmIcon(), t.accept)
	accept.Importance = widget.HighImportance
	reject := widget.NewButtonWithIcon("Reject (Esc)", theme.CancelIcon(), t.reject)
	bg := canvas.NewRectangle(color.NRGBA{R: 0, G: 90, B: 100, A: 255})
	t.banner = container.NewStack(bg, container.NewBorder(nil, nil, nil,
		container.NewHBox(accept, reject), container.NewPadded(t.bannerText)))
	t.banner.Hide()

	t.engine = widget.NewLabel("models: looking…")

	t.segmentItem = fyne.NewMenuItem("Segment with the U-Net", t.runSegment)
	t.refineSliceItem = fyne.NewMenuItem("Refine current slice with SAM", t.runRefineSlice)
	t.refineVolumeItem = fyne.NewMenuItem("Refine whole volume with SAM", t.runRefineVolume)
	t.boxItem = fyne.NewMenuItem("Box tool (B)", t.toggleBox)
	t.acceptItem = fyne.NewMenuItem("Accept preview (Enter)", t.accept)
	t.rejectItem = fyne.NewMenuItem("Reject preview (Esc)", t.reject)
	t.modelsItem = fyne.NewMenuItem("Models…", t.showModels)
	t.update()
	return t
}

// menu returns the Segment menu.
func (t *modelTools) menu() *fyne.Menu {
	return fyne.NewMenu("Segment", t.segmentItem, t.refineSliceItem, t.refineVolumeItem, t.boxItem,
		fyne.NewMenuItemSeparator(), t.acceptItem, t.rejectItem, fyne.NewMenuItemSeparator(), t.modelsItem)
}

// choose makes value the label the tools work on, if the colour table
// names it.
func (t *modelTools) choose(value uint16) {
	// The colour table may have just gained value (a segment added): the
	// window hears of it later, from the session, after this choice.
	t.updateLabelChoices()
	for n, v := range t.values {
		if v == value {
			t.label.SetSelected(t.choices[n])
			return
		}
	}
}

// updateLabelChoices lists the colour table's labels for the tools.
func (t *modelTools) updateLabelChoices() {
	var choices []string
	var values []uint16
	t.m.session.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		if l.Table == nil {
			return
		}
		for _, e := range l.Table.Labels() {
			if e.Value != 0 {
				choices = append(choices, fmt.Sprintf("%d %s", e.Value, e.Name))
				values = append(values, e.Value)
			}
		}
	})
	if slices.Equal(choices, t.choices) {
		return
	}
	t.choices, t.values = choices, values
	t.label.Options = choices
	for n, v := range values {
		if v == t.value {
			t.label.SetSelected(choices[n])
			return
		}
	}
	if len(values) > 0 {
		t.label.SetSelected(choices[0])
	}
}

// update enables what the open scan, the models and the preview allow, and
// describes the models beside the jobs bar.
func (t *modelTools) update() {
	st := t.m.session.ModelStatus()
	vol, _ := t.m.session.Volume()
	_, pending := t.m.session.Preview()
	known := st.UNet != "" || st.UNetErr != nil || st.RuntimeErr != nil
	unet := vol != nil && st.UNet != "" && st.RuntimeErr == nil
	sam := vol != nil && st.SAM && st.RuntimeErr == nil
	setButton(t.segment, unet)
	setButton(t.refineSlice, sam)
	setButton(t.refineVolume, sam)
	setButton(t.box, sam)
	t.segmentItem.Disabled = !unet
	t.refineSliceItem.Disabled = !sam
	t.refineVolumeItem.Disabled = !sam
	t.boxItem.Disabled = !sam
	t.boxItem.Checked = t.boxOn
	t.acceptItem.Disabled, t.rejectItem.Disabled = !pending, !pending
	if !sam && t.boxOn {
		t.setBox(false)
	}
	t.engine.SetText(describeModels(st, known))
	if mm := t.m.win.MainMenu(); mm != nil {
		mm.Refresh()
	}
}

func setButton(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// describeModels says in a few words what the models can do and where
// they run; Models… in the Segment menu gives the reasons in full.
func describeModels(st app.ModelStatus, known bool) string {
	switch {
	case !known:
		return "models: looking…"
	case st.RuntimeErr != nil:
		if errors.Is(st.RuntimeErr, app.ErrNoRuntime) {
			return "no ONNX Runtime: Segment and SAM off"
		}
		return "ONNX Runtime failed: Segment and SAM off"
	}
	var parts []string
	if st.UNet != "" {
		parts = append(parts, st.UNet)
	} else {
		parts = append(parts, "no U-Net (Segment off)")
	}
	if st.SAM {
		parts = append(parts, "SAM")
	} else {
		parts = append(parts, "no SAM weights")
	}
	if st.Provider != "" {
		parts = append(parts, "on "+st.Provider)
	}
	return strings.Join(parts, " · ")
}

// showModels explains in a dialog which models were found and why others
// were not.
func (t *modelTools) showModels() {
	st := t.m.session.ModelStatus()
	line := func(what string, ok string, err error) string {
		if err != nil {
			return what + ": " + err.Error()
		}
		if ok == "" {
			return what + ": not looked for yet"
		}
		return what + ": " + ok
	}
	unet := st.UNet
	sam := ""
	if st.SAM {
		sam = "found (its weights are checked when first used)"
	}
	provider := st.Provider
	if provider == "" {
		provider = "none loaded yet"
	}
	if st.ProviderNote != "" {
		provider += " (" + st.ProviderNote + ")"
	}
	text := strings.Join([]string{
		line("ONNX Runtime", "loaded", st.RuntimeErr),
		line("U-Net", unet, st.UNetErr),
		line("SAM", sam, st.SAMErr),
		"Execution provider: " + provider,
		"U-Net searched in: " + strings.Join(t.m.session.Models().Dirs(), ", "),
	}, "\n")
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	t.m.showDialog(dialog.NewCustom("Models", "Close", container.NewGridWrap(fyne.NewSize(560, 220), l), t.m.win))
}

// updatePreview shows the banner while a preview is pending.
func (t *modelTools) updatePreview() {
	info, ok := t.m.session.Preview()
	if !ok {
		t.banner.Hide()
	} else {
		where := "" // a slice preview's name says which slice
		if info.Slice < 0 {
			where = ", whole volume"
		}
		t.bannerText.Text = fmt.Sprintf("Preview: %s%s, %s", info.Name, where, voxelCount(info.Voxels))
		t.bannerText.Refresh()
		t.banner.Show()
	}
	// The banner changes the height of the row above the views: lay the
	// window out again.
	if c := t.m.win.Content(); c != nil {
		c.Refresh()
	}
	t.update()
}

func (t *modelTools) accept() {
	if _, err := t.m.session.AcceptPreview(); err != nil && !errors.Is(err, app.ErrNoPreview) {
		t.m.showError("", err)
	}
}

func (t *modelTools) reject() { t.m.session.RejectPreview() }

func (t *modelTools) toggleBox() {
	if !t.boxOn && t.box.Disabled() {
		return
	}
	t.setBox(!t.boxOn)
}

// setBox turns the box tool on or off in every view.
func (t *modelTools) setBox(on bool) {
	t.boxOn = on
	t.box.Importance = widget.MediumImportance
	if on {
		t.box.Importance = widget.HighImportance
	}
	t.box.Refresh()
	t.boxItem.Checked = on
	if t.m.toolbar != nil {
		t.m.toolbar.boxChanged(on)
	}
	if mm := t.m.win.MainMenu(); mm != nil {
		mm.Refresh()
	}
}

func (t *modelTools) runSegment() {
	t.start(t.m.session.Segment())
}

func (t *modelTools) runRefineSlice() {
	slice, _ := t.m.View(viewer.Axial).Slice()
	t.start(t.m.session.RefineSlice(viewer.Axial, slice, t.value))
}

func (t *modelTools) runRefineVolume() {
	t.start(t.m.session.RefineVolume(t.value))
}

// boxDrawn runs SAM on a box drawn in view v.
func (t *modelTools) boxDrawn(v *SliceView, slice int, a, b [3]int) {
	if v.Plane() != viewer.Axial {
		t.m.say("The box tool works on the axial view: SAM segments axial slices.", true)
		return
	}
	t.start(t.m.session.BoxPrompt(v.Plane(), slice, a, b, t.value))
}

// start reports an operation that could not start, or waits for its job
// in the background and reports its failure; progress and cancel are the
// jobs bar's.
func (t *modelTools) start(job *app.Job, err error) {
	if err != nil {
		t.m.showError("", err)
		return
	}
	t.lastJob = job
	reported := make(chan struct{})
	t.lastReported = reported
	go func() {
		defer close(reported)
		if err := job.Wait(); err != nil && !app.Canceled(err) {
			fyne.DoAndWait(func() { t.m.showError("", fmt.Errorf("%s: %w", job.Name(), err)) })
		}
	}()
}
