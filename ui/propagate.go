package ui

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
)

// propagateTools are the controls of propagation: the Propagate button
// (key P; Shift+P takes every annotated slice as an anchor), menu items,
// and the confidence strip beside the axial view (key X jumps to the next
// doubtful slice, Shift+X to the previous one).
type propagateTools struct {
	m *MainWindow

	button                       *widget.Button
	engines                      *widget.Select // sam2 or sam, shown when SAM 2 files were given
	item, allItem, modelItem     *fyne.MenuItem
	nextDoubtItem, prevDoubtItem *fyne.MenuItem
	strip                        *confidenceStrip
	lastJob                      *app.Job
	lastDone                     chan struct{} // closed once the last job's end is shown
	engine                       string        // the engine the user chose
}

func newPropagateTools(m *MainWindow) *propagateTools {
	p := &propagateTools{m: m, engine: app.EngineSAM}
	p.button = widget.NewButtonWithIcon("Propagate (P)", theme.MoveDownIcon(), func() { p.propagate(false) })
	// With SAM 2 files given, SAM 2 propagates unless the user picks the
	// bundled SAM.
	p.engines = widget.NewSelect([]string{app.EngineSAM2, app.EngineSAM}, func(s string) {
		p.engine = s
		m.giveKeysBack(p.engines)
	})
	if m.session.Models().HasSAM2() {
		p.engines.SetSelected(app.EngineSAM2)
	} else {
		p.engines.Hide()
	}
	p.item = fyne.NewMenuItem("Propagate the current slice's label (P)", func() { p.propagate(false) })
	p.allItem = fyne.NewMenuItem("Propagate from every annotated slice (Shift+P)", func() { p.propagate(true) })
	p.modelItem = fyne.NewMenuItem("Propagate from the U-Net's mask", p.propagateFromModel)
	p.nextDoubtItem = fyne.NewMenuItem("Next doubtful slice (X)", func() { p.jumpDoubtful(1) })
	p.prevDoubtItem = fyne.NewMenuItem("Previous doubtful slice (Shift+X)", func() { p.jumpDoubtful(-1) })
	p.strip = newConfidenceStrip()
	p.strip.OnSlice = func(slice int) { m.View(viewer.Axial).GoToSlice(slice) }
	p.strip.OnHover = p.hoverStrip
	return p
}

// menuItems are the items added to the Segment menu.
func (p *propagateTools) menuItems() []*fyne.MenuItem {
	return []*fyne.MenuItem{p.item, p.allItem, p.modelItem, p.nextDoubtItem, p.prevDoubtItem}
}

// update enables what the scan and the models allow and redraws the strip.
func (p *propagateTools) update() {
	st := p.m.session.ModelStatus()
	vol, _ := p.m.session.Volume()
	sam := vol != nil && st.SAM && st.RuntimeErr == nil
	setButton(p.button, sam)
	p.item.Disabled, p.allItem.Disabled = !sam, !sam
	p.modelItem.Disabled = !sam || st.UNet == ""
	p.refreshStrip()
}

// refreshStrip shows the chosen label's confidence and the current slice.
func (p *propagateTools) refreshStrip() {
	label := p.m.tools.value
	conf := p.m.session.Confidence(viewer.Axial, label)
	slice, _ := p.m.View(viewer.Axial).Slice()
	p.strip.Set(conf, slice, p.m.session.DoubtBelow())
	doubt := false
	for _, c := range conf {
		doubt = doubt || c.Doubtful
	}
	p.nextDoubtItem.Disabled, p.prevDoubtItem.Disabled = !doubt, !doubt
}

func (p *propagateTools) hoverStrip(c app.SliceConfidence, ok bool) {
	if !ok {
		p.m.hover(viewer.Probe{}, false)
		return
	}
	text := fmt.Sprintf("axial slice %d: not propagated", c.Slice+1)
	switch {
	case c.Unchecked:
		text = fmt.Sprintf("axial slice %d is doubtful: %s", c.Slice+1, c.Reason)
	case c.Anchor:
		text = fmt.Sprintf("axial slice %d: anchor", c.Slice+1)
	case !math.IsNaN(c.Confidence):
		text = fmt.Sprintf("axial slice %d: confidence %.2f", c.Slice+1, c.Confidence)
		if c.Doubtful {
			text = fmt.Sprintf("axial slice %d is doubtful (confidence %.2f): %s", c.Slice+1, c.Confidence, c.Reason)
		} else if c.Note != "" {
			text += " (" + c.Note + ")"
		}
	}
	p.m.hoverInfo = text
	p.m.updateStatus()
}

// propagate starts a propagation from the axial view's current slice.
func (p *propagateTools) propagate(all bool) {
	if p.button.Disabled() {
		return
	}
	slice, _ := p.m.View(viewer.Axial).Slice()
	job, err := p.m.session.Propagate(app.PropagateRequest{
		Plane: viewer.Axial, Slice: slice, Label: p.m.tools.value, Engine: p.engine, AllAnchors: all,
	})
	p.start(job, err)
}

func (p *propagateTools) propagateFromModel() {
	p.start(p.m.session.PropagateFromModel(p.m.tools.value, p.engine))
}

// start hands the job to the model tools (jobs bar, error dialogs) and,
// once it ends, says in the status line what ran.
func (p *propagateTools) start(job *app.Job, err error) {
	p.m.tools.start(job, err)
	if err != nil {
		return
	}
	p.lastJob = job
	done := make(chan struct{})
	p.lastDone = done
	label := p.m.tools.value
	go func() {
		defer close(done)
		if job.Wait() != nil {
			return
		}
		fyne.DoAndWait(func() {
			if sum, ok := p.m.session.Propagation(label); ok {
				p.m.say(describePropagation(sum), false)
			}
		})
	}()
}

// describePropagation says which engine ran on which execution provider,
// and what to look at.
func describePropagation(s app.PropagationSummary) string {
	provider := strings.ToUpper(s.Provider)
	if provider == "" {
		provider = "?"
	}
	text := fmt.Sprintf("Propagated by %s on %s: %d slices", s.Engine, provider, s.Slices)
	switch {
	case s.Doubtful == 1:
		text += ", 1 doubtful (X goes there)"
	case s.Doubtful > 1:
		text += fmt.Sprintf(", %d doubtful (X goes to the next)", s.Doubtful)
	}
	// Accepting and rejecting are the preview banner's to say: this
	// message stays after it.
	return text + "."
}

// jumpDoubtful moves the axial view to the next (dir 1) or previous (-1)
// doubtful slice of the chosen label.
func (p *propagateTools) jumpDoubtful(dir int) {
	v := p.m.View(viewer.Axial)
	slice, _ := v.Slice()
	if next, ok := p.m.session.NextDoubtful(viewer.Axial, p.m.tools.value, slice, dir); ok {
		v.GoToSlice(next.Slice)
		p.m.say(fmt.Sprintf("Slice %d is doubtful: %s.", next.Slice+1, next.Reason), false)
		return
	}
	conf := p.m.session.Confidence(viewer.Axial, p.m.tools.value)
	if !slices.ContainsFunc(conf, func(c app.SliceConfidence) bool { return !math.IsNaN(c.Confidence) }) {
		// The strip shows the chosen segment; one never propagated has
		// nothing to doubt, which is not the same as nothing doubtful.
		p.m.say(fmt.Sprintf("No propagation of %s to check: X goes to the doubtful slices of the chosen segment's propagation.", p.m.tools.label.Selected), false)
		return
	}
	p.m.say("No doubtful slice: every propagated slice is above the confidence threshold.", false)
}

// addShortcuts puts propagation's keys in the window's table: P
// propagates, Shift+P from every annotated slice, X goes to the next
// doubtful slice and Shift+X to the previous one.
func (p *propagateTools) addShortcuts(t *Shortcuts) {
	for _, sc := range []Shortcut{
		{Group: "Models", Name: "Propagate", Key: fyne.KeyP, Run: func() { p.propagate(false) },
			Help: "carry the chosen segment on this axial slice through the scan (only the span next to it when propagated before)"},
		{Group: "Models", Name: "Propagate from every annotated slice", Key: fyne.KeyP, Modifier: fyne.KeyModifierShift,
			Run: func() { p.propagate(true) }, Help: "every axial slice holding the segment is an anchor"},
		{Group: "Models", Name: "Next doubtful slice", Key: fyne.KeyX, Run: func() { p.jumpDoubtful(1) },
			Help: "the next slice the propagation doubts (red on the strip); the status line says why"},
		{Group: "Models", Name: "Previous doubtful slice", Key: fyne.KeyX, Modifier: fyne.KeyModifierShift,
			Run: func() { p.jumpDoubtful(-1) }},
	} {
		if err := t.Add(sc); err != nil {
			fyne.LogError("shortcut table", err)
		}
	}
}

// GoToSlice moves the crosshair to slice number slice of this view's
// plane, keeping its position within the slice.
func (v *SliceView) GoToSlice(slice int) {
	s, ok := v.currentSlicer()
	if !ok {
		return
	}
	c := v.session.Cursor()
	cur, _, _ := s.Locate(c[0], c[1], c[2])
	v.StepSlice(slice - cur)
}
