package ui

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// waitPropagation waits for the propagation started last and for its end
// to be shown.
func waitPropagation(t *testing.T, m *MainWindow) error {
	t.Helper()
	if m.prop.lastJob == nil {
		t.Fatal("no propagation started")
	}
	err := waitJob(t, m.prop.lastJob)
	wait(t, m.prop.lastDone)
	return err
}

// End to end on patient B through the window: a box on one axial slice,
// Enter, P, the slices stream into the preview and the confidence strip,
// Enter accepts the whole as one undo step, undo and redo, and export
// writes the labels with a provenance sidecar naming the engine.
func TestPropagateBoxAcceptUndoRedoExport(t *testing.T) {
	m, ref := openPatientB(t)
	k, a, b := liverBox(t, ref)
	m.session.SetCursor(a)
	settle()
	ax := m.View(viewer.Axial)
	choose(t, m, m.tools.label, "5 liver")
	typeKey(m, fyne.KeyB)
	drawBox(m, ax, positionOf(ax, a), positionOf(ax, b))
	if err := waitJob(t, m.tools.lastJob); err != nil {
		t.Fatal(err)
	}
	typeKey(m, fyne.KeyReturn)
	boxOnly := labelData(m.session)

	if m.prop.button.Disabled() {
		t.Fatal("Propagate is disabled with SAM present")
	}
	typeKey(m, fyne.KeyP)
	if err := waitPropagation(t, m); err != nil {
		t.Fatal(err)
	}
	if !m.tools.banner.Visible() || !strings.Contains(m.tools.bannerText.Text, "Propagate liver") {
		t.Fatalf("banner visible %v, text %q: want the propagation's preview", m.tools.banner.Visible(), m.tools.bannerText.Text)
	}
	if st := m.toolbar.message.Text; !strings.Contains(st, "Propagated by sam on CPU") {
		t.Errorf("message %q does not say which engine ran on which provider", st)
	}
	m.prop.strip.mu.Lock()
	conf := slices.Clone(m.prop.strip.conf)
	m.prop.strip.mu.Unlock()
	shown := 0
	for _, c := range conf {
		if !math.IsNaN(c.Confidence) {
			shown++
		}
	}
	if len(conf) != ref.Dims[2] || shown < 15 {
		t.Errorf("the strip shows %d of %d slices with a confidence; want most of patient B's 20", shown, len(conf))
	}

	typeKey(m, fyne.KeyReturn)
	got := labelData(m.session)
	d := diceOf(got, ref.Data, liver)
	t.Logf("window: box on file slice %d propagated, 3D liver Dice %.3f", k, d)
	if d < 0.85 {
		t.Errorf("propagated liver Dice %.3f < 0.85", d)
	}
	if !strings.Contains(m.undoItem.Label, "Propagate liver") {
		t.Errorf("undo item %q: want the propagation as one step", m.undoItem.Label)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if !slices.Equal(labelData(m.session), boxOnly) {
		t.Fatal("Ctrl+Z did not bring back the box alone")
	}
	press(m, fyne.KeyModifierControl, fyne.KeyY)
	if !slices.Equal(labelData(m.session), got) {
		t.Fatal("Ctrl+Y did not bring the propagation back")
	}

	// The autosave keeps the propagation's confidence (checked below, as
	// exporting removes the scan's autosave).
	saved, err := m.session.Autosave()
	if err != nil || saved == "" {
		t.Fatalf("autosave: %q, %v", saved, err)
	}
	keep := t.TempDir()
	for _, f := range []string{saved, saved + app.ProvenanceSuffix} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keep, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	out := filepath.Join(t.TempDir(), "liver.nii.gz")
	wait(t, m.ExportLabels(out))
	back, _, err := volume.LoadLabels(out, ref.Grid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Data, got) {
		t.Error("exported labels differ from the window's")
	}
	log, err := app.ReadProvenance(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(log); n != 2 || log[1].What.Engine == nil || log[1].What.Engine.Engine != "sam" {
		t.Errorf("provenance %+v: want the box and the propagation by sam", log)
	}

	// Clicking the strip goes to a slice; X goes to the next doubtful one,
	// Shift+X to the previous.
	clickStrip(m, 3)
	if s, _ := ax.Slice(); s != 3 {
		t.Errorf("clicking the strip at slice 4 went to slice %d", s+1)
	}
	mouseMove(m, centreOf(ax))
	for _, tt := range []struct {
		mods fyne.KeyModifier
		dir  int
	}{{0, 1}, {fyne.KeyModifierShift, -1}} {
		from, _ := ax.Slice()
		next, ok := m.session.NextDoubtful(viewer.Axial, liver, from, tt.dir)
		press(m, tt.mods, fyne.KeyX)
		if s, _ := ax.Slice(); ok && s != next.Slice {
			t.Errorf("%s went to slice %d, the doubtful one is %d", keyLabel(fyne.KeyX, tt.mods), s+1, next.Slice+1)
		}
		if ok && (next.Reason == "" || !strings.Contains(m.toolbar.message.Text, next.Reason)) {
			t.Errorf("%s: message %q does not say why slice %d is doubtful (%q)", keyLabel(fyne.KeyX, tt.mods), m.toolbar.message.Text, next.Slice+1, next.Reason)
		}
		if !ok && !strings.Contains(m.toolbar.message.Text, "No doubtful slice") {
			t.Errorf("X without doubtful slices: message %q", m.toolbar.message.Text)
		}
	}
	// X on a segment never propagated says so, rather than that nothing
	// is doubtful.
	m.tools.label.SetSelected("1 spleen")
	press(m, 0, fyne.KeyX)
	if got := m.toolbar.message.Text; !strings.Contains(got, "No propagation of 1 spleen") {
		t.Errorf("X on a segment never propagated: message %q", got)
	}
	m.tools.label.SetSelected("5 liver")

	// The scan opened again in a new window: its autosave, restored,
	// brings the strip back as it was, and X goes where it went.
	m2 := newWindow(t, app.Options{AutosaveDir: keep})
	t.Cleanup(m2.session.Close)
	m2.Window().Resize(fyne.NewSize(1280, 800))
	wait(t, m2.Open(filepath.Join(realData, "example_ct_dicom"), "", volume.OpenOptions{}))
	dialogButton(t, m2, "Yes")
	m2.prop.strip.mu.Lock()
	restored := slices.Clone(m2.prop.strip.conf)
	m2.prop.strip.mu.Unlock()
	same := func(a, b app.SliceConfidence) bool {
		return a.Slice == b.Slice && a.Anchor == b.Anchor && a.Note == b.Note &&
			(a.Confidence == b.Confidence || math.IsNaN(a.Confidence) && math.IsNaN(b.Confidence))
	}
	if !slices.EqualFunc(restored, conf, same) {
		t.Errorf("the strip after restoring the autosave differs from the propagation's:\n%v\n%v", restored, conf)
	}
	if next, ok := m2.session.NextDoubtful(viewer.Axial, liver, 0, 1); ok {
		ax2 := m2.View(viewer.Axial)
		mouseMove(m2, centreOf(ax2))
		for s, _ := ax2.Slice(); s > 0; s, _ = ax2.Slice() {
			typeKey(m2, fyne.KeyDown)
		}
		typeKey(m2, fyne.KeyX)
		if s, _ := ax2.Slice(); s != next.Slice {
			t.Errorf("X after the restore went to slice %d, want %d", s+1, next.Slice+1)
		}
	} else if _, ok := m.session.NextDoubtful(viewer.Axial, liver, 0, 1); ok {
		t.Error("after the restore no slice is doubtful; before, some were")
	}
}

// A propagation cancelled from the jobs bar leaves the labels untouched and
// no preview.
func TestPropagateCancelled(t *testing.T) {
	m, ref := openPatientB(t)
	if _, err := m.session.ReplaceLabels("Load", ref); err != nil {
		t.Fatal(err)
	}
	want := labelData(m.session)
	_, a, _ := liverBox(t, ref)
	m.session.SetCursor(a)
	settle()
	choose(t, m, m.tools.label, "5 liver")
	tap(m, m.prop.button)
	m.prop.lastJob.Cancel()
	if err := waitPropagation(t, m); !app.Canceled(err) {
		t.Fatalf("cancelled propagation ended with %v", err)
	}
	if _, ok := m.session.Preview(); ok || m.tools.banner.Visible() {
		t.Error("a cancelled propagation left a preview")
	}
	if !slices.Equal(labelData(m.session), want) {
		t.Error("a cancelled propagation changed the labels")
	}
}

func diceOf(a, b []uint16, v uint16) float64 {
	inter, na, nb := 0, 0, 0
	for i := range a {
		x, y := a[i] == v, b[i] == v
		if x {
			na++
		}
		if y {
			nb++
		}
		if x && y {
			inter++
		}
	}
	if na+nb == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(na+nb)
}

// clickStrip clicks the confidence strip on slice k.
func clickStrip(m *MainWindow, k int) {
	st := m.prop.strip
	n := len(st.conf)
	h := st.Size().Height
	y := h - (float32(k)+0.5)*h/float32(n)
	click(m, at(st, fyne.NewPos(st.Size().Width/2, y)))
}
