package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/app/tools"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

var (
	modelsOnce   sync.Once
	sharedModels *app.Models
)

// haveRuntime reports whether the cache holds ONNX Runtime and SAM's
// weights (scripts/fetch-runtime.sh puts them there; CI runs it first).
func haveRuntime(t *testing.T) {
	t.Helper()
	cache := onnxrt.DefaultCacheDir()
	for _, f := range []string{"runtime/libonnxruntime.so.1", "models/sam-encoder.onnx", "models/sam-decoder.onnx"} {
		if _, err := os.Stat(filepath.Join(cache, f)); err != nil {
			t.Skipf("ONNX Runtime or SAM weights not in %s (run scripts/fetch-runtime.sh): %v", cache, err)
		}
	}
}

// testModels returns models shared by this package's tests, with the
// repository's models folder, so that sessions are created once.
func testModels(t *testing.T) *app.Models {
	t.Helper()
	haveRuntime(t)
	modelsOnce.Do(func() {
		sharedModels = app.NewModels(app.ModelOptions{Dirs: []string{"../models"}})
	})
	return sharedModels
}

// openPatientB returns a window showing patient B's DICOM series, with the
// shared models, and the series' reference labels.
func openPatientB(t *testing.T) (*MainWindow, *volume.Labels) {
	t.Helper()
	dir := filepath.Join(realData, "example_ct_dicom")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real CT fixtures not present: %v", err)
	}
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir(), Models: testModels(t)})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(1280, 800))
	wait(t, m.Open(dir, "", volume.OpenOptions{}))
	v, _ := m.session.Volume()
	if v == nil {
		t.Fatal("patient B did not open")
	}
	ref, _, err := volume.LoadLabels(filepath.Join(realData, "example_seg_dicom.nii.gz"), v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	return m, ref
}

// liverBox returns the voxel corners of the liver's bounding box on the
// axial slice where the reference has most liver (the slice inference's
// own box test uses, so its embedding is in the disk cache).
func liverBox(t *testing.T, ref *volume.Labels) (k int, a, b [3]int) {
	t.Helper()
	sl, err := section.NewSlicer(ref.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	k, area := -1, 0
	for n := range sl.Slices {
		mask, _ := sl.Mask(ref, n, liver)
		if mask.Area() > area {
			k, area = n, mask.Area()
		}
	}
	mask, _ := sl.Mask(ref, k, liver)
	box, ok := mask.Bounds()
	if !ok {
		t.Fatal("reference has no liver")
	}
	return k, sl.Voxel(k, box.R0, box.C0), sl.Voxel(k, box.R1, box.C1)
}

// positionOf returns where voxel p lies in view v, in its coordinates.
func positionOf(v *SliceView, p [3]int) fyne.Position {
	s, _ := v.currentSlicer()
	_, u, w := s.Locate(p[0], p[1], p[2])
	v.mu.Lock()
	defer v.mu.Unlock()
	target, _, _ := v.targetLocked(fyne.Position{})
	x, y := v.viewport.SliceToScreen(target, s, float64(u)+0.5, float64(w)+0.5)
	return fyne.NewPos(float32(x)/v.pxScale, float32(y)/v.pxScale)
}

// drawBox drags a box from a to b (v's coordinates) in view v with the
// left button.
func drawBox(m *MainWindow, v *SliceView, a, b fyne.Position) (bandShown bool) {
	mouseMove(m, at(v, a))
	mouseButton(m, desktop.MouseButtonPrimary, 0, true)
	mouseMove(m, at(v, b))
	bandShown = v.band.Visible()
	mouseButton(m, desktop.MouseButtonPrimary, 0, false)
	return bandShown
}

// choose picks option in select s, as a user does: a click opens its
// list, a click on the option picks it.
func choose(t *testing.T, m *MainWindow, s *widget.Select, option string) {
	t.Helper()
	tap(m, s)
	top := m.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("a click on the select %q opened no list", s.Selected)
	}
	items := find(top, func(o fyne.CanvasObject) bool {
		_, ok := o.(fyne.Tappable)
		return ok && strings.Contains(fmt.Sprintf("%v", textsOf(o)), option)
	})
	if len(items) == 0 {
		t.Fatalf("the select's list has no %q", option)
	}
	tap(m, items[len(items)-1])
}

// textsOf returns the texts shown by o and its children.
func textsOf(o fyne.CanvasObject) []string {
	var out []string
	for _, x := range find(o, func(fyne.CanvasObject) bool { return true }) {
		switch t := x.(type) {
		case *canvas.Text:
			out = append(out, t.Text)
		case *widget.Label:
			out = append(out, t.Text)
		case *widget.RichText:
			out = append(out, t.String())
		}
	}
	return out
}

func labelData(s *app.Session) []uint16 {
	var out []uint16
	s.Read(func(_ *volume.Volume, l *viewer.Overlay) { out = slices.Clone(l.Labels.Data) })
	return out
}

func countColor(img *image.RGBA) int { return len(pixelsOf(img, previewColor)) }

// The box tool on patient B: B turns it on, a drag around the liver shows
// the box and runs SAM, the preview is outlined with a banner, Enter
// makes it the liver on that slice (Dice >= 0.85 against the reference),
// a second box rejected with Esc changes nothing, and undo removes the
// first.
func TestBoxToolPreviewEnterEsc(t *testing.T) {
	m, ref := openPatientB(t)
	k, a, b := liverBox(t, ref)
	m.session.SetCursor(a)
	settle()
	ax := m.View(viewer.Axial)
	typeKey(m, fyne.KeyB)
	if !m.tools.boxOn || m.toolbar.editor.Tool() != tools.Box {
		t.Fatal("B did not turn the box tool on")
	}
	choose(t, m, m.tools.label, "5 liver")
	if m.tools.value != liver {
		t.Fatalf("label chosen %d, want %d", m.tools.value, liver)
	}
	before := countColor(capture(m, ax))
	if !drawBox(m, ax, positionOf(ax, a), positionOf(ax, b)) {
		t.Error("no rubber band shown while dragging")
	}
	if ax.band.Visible() {
		t.Error("rubber band still shown after the release")
	}
	if m.tools.lastJob == nil {
		t.Fatal("releasing the box started no job")
	}
	if err := waitJob(t, m.tools.lastJob); err != nil {
		t.Fatal(err)
	}
	if !m.tools.banner.Visible() || !strings.HasPrefix(m.tools.bannerText.Text, "Preview: ") {
		t.Fatalf("banner visible %v, text %q", m.tools.banner.Visible(), m.tools.bannerText.Text)
	}
	if got := countColor(capture(m, ax)); got <= before+50 {
		t.Errorf("%d preview-coloured pixels with the preview, %d without", got, before)
	}
	typeKey(m, fyne.KeyReturn)
	if m.tools.banner.Visible() {
		t.Error("banner still shown after Enter")
	}
	got := labelData(m.session)
	nxy := ref.Dims[0] * ref.Dims[1]
	inter, ng, nr := 0, 0, 0
	for i := k * nxy; i < (k+1)*nxy; i++ {
		g, r := got[i] == liver, ref.Data[i] == liver
		if g {
			ng++
		}
		if r {
			nr++
		}
		if g && r {
			inter++
		}
	}
	d := 2 * float64(inter) / float64(ng+nr)
	t.Logf("box tool liver Dice %.3f on file slice %d", d, k)
	if d < 0.85 {
		t.Errorf("liver Dice %.3f < 0.85 after Enter", d)
	}

	// A second, smaller box, rejected.
	c := [3]int{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, a[2]}
	drawBox(m, ax, positionOf(ax, a), positionOf(ax, c))
	if err := waitJob(t, m.tools.lastJob); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.session.Preview(); !ok {
		t.Fatal("no preview after the second box")
	}
	typeKey(m, fyne.KeyEscape)
	if _, ok := m.session.Preview(); ok || m.tools.banner.Visible() {
		t.Error("preview still pending after Esc")
	}
	if !slices.Equal(labelData(m.session), got) {
		t.Error("Esc changed the labels")
	}
	if m.undoItem.Disabled || !strings.Contains(m.undoItem.Label, "SAM box") {
		t.Errorf("undo item %q (disabled %v)", m.undoItem.Label, m.undoItem.Disabled)
	}
	press(m, fyne.KeyModifierControl, fyne.KeyZ)
	if slices.ContainsFunc(labelData(m.session), func(x uint16) bool { return x != 0 }) {
		t.Error("Ctrl+Z left labels")
	}
}

// The Segment button runs the default U-Net on patient B; its whole-volume
// preview is rejected with Esc.
func TestSegmentButtonPreview(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "models", app.DefaultUNet+".json")); err != nil {
		t.Skipf("default model absent: %v", err)
	}
	m, _ := openPatientB(t)
	if m.tools.segment.Disabled() {
		t.Fatalf("Segment disabled with the default model present: %s", m.tools.engine.Text)
	}
	if txt := m.tools.engine.Text; !strings.Contains(txt, app.DefaultUNet) || !(strings.Contains(txt, "CPU") || strings.Contains(txt, "CUDA")) {
		t.Errorf("models label %q: want the model and the provider", txt)
	}
	tap(m, m.tools.segment)
	if err := waitJob(t, m.tools.lastJob); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.tools.bannerText.Text, "whole volume") {
		t.Errorf("banner %q", m.tools.bannerText.Text)
	}
	typeKey(m, fyne.KeyEscape)
	if slices.ContainsFunc(labelData(m.session), func(x uint16) bool { return x != 0 }) {
		t.Error("a rejected segmentation left labels")
	}
}

// openBlank returns a window with models set up by opts showing a small
// all-zero scan without labels: enough for the model tools to decide what
// they can do, without real data.
func openBlank(t *testing.T, opts app.ModelOptions) *MainWindow {
	t.Helper()
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir(), ModelOptions: opts})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(800, 600))
	wait(t, m.OpenGenerated("ramp", func(context.Context, app.Progress) (*volume.Volume, *volume.Labels, error) {
		g := volume.Grid{Dims: [3]int{20, 20, 10}, Affine: volume.Identity()}
		return &volume.Volume{Grid: g, Data: make([]float32, g.Len())}, nil, nil
	}))
	return m
}

// Without the runtime library or without a U-Net the model actions are
// disabled and the label beside the jobs bar says why; the scan still
// shows.
func TestModelActionsDisabledWithoutModels(t *testing.T) {
	tests := []struct {
		name       string
		opts       app.ModelOptions
		needs      bool // needs the real runtime
		segment    bool // Segment enabled
		sam        bool // SAM actions enabled
		engineText string
		reason     string // in the Models… dialog
	}{
		{"no runtime", app.ModelOptions{Runtime: onnxrt.Options{Library: "/nonexistent/libonnxruntime.so.1"}}, false, false, false,
			"no ONNX Runtime", "ONNX Runtime: ONNX Runtime library not found: /nonexistent/libonnxruntime.so.1"},
		{"no U-Net", app.ModelOptions{Dirs: []string{t.TempDir()}}, true, false, true,
			"no U-Net (Segment off)", `U-Net: no model found: model "polycl-abdomen": no polycl-abdomen.json in`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needs {
				haveRuntime(t)
			}
			m := openBlank(t, tt.opts)
			if got := !m.tools.segment.Disabled(); got != tt.segment {
				t.Errorf("Segment button enabled %v, want %v", got, tt.segment)
			}
			if got := !m.tools.segmentItem.Disabled; got != tt.segment {
				t.Errorf("Segment menu item enabled %v, want %v", got, tt.segment)
			}
			for _, b := range []interface{ Disabled() bool }{m.tools.box, m.tools.refineSlice, m.tools.refineVolume} {
				if got := !b.Disabled(); got != tt.sam {
					t.Errorf("SAM button enabled %v, want %v", got, tt.sam)
				}
			}
			if !strings.Contains(m.tools.engine.Text, tt.engineText) {
				t.Errorf("models label %q, want %q", m.tools.engine.Text, tt.engineText)
			}
			typeKey(m, fyne.KeyB)
			if m.tools.boxOn != tt.sam {
				t.Errorf("box tool on %v after B, want %v", m.tools.boxOn, tt.sam)
			}
			if v, _ := m.session.Volume(); v == nil {
				t.Error("the scan is not shown")
			}
			// M (Models…) gives the reasons in full.
			typeKey(m, fyne.KeyM)
			top := m.Window().Canvas().Overlays().Top()
			if top == nil {
				t.Fatal("M showed no dialog")
			}
			why := find(top, func(o fyne.CanvasObject) bool {
				l, ok := o.(*widget.Label)
				return ok && strings.Contains(l.Text, tt.reason)
			})
			if len(why) == 0 {
				t.Errorf("Models… does not say %q", tt.reason)
			}
		})
	}
}

// A model operation whose job fails, or that is off, says why: W (Refine
// volume) with nothing to refine in a dialog, U (Segment) without the
// runtime in the tool bar, as the keys reach them.
func TestModelErrorsSayWhy(t *testing.T) {
	t.Run("refine without labels", func(t *testing.T) {
		haveRuntime(t)
		m := openBlank(t, app.ModelOptions{})
		if m.tools.refineVolume.Disabled() {
			t.Fatalf("Refine volume is off with the runtime and SAM present: %s", m.tools.engine.Text)
		}
		m.tools.lastReported = nil
		typeKey(m, fyne.KeyW)
		if m.tools.lastReported != nil {
			wait(t, m.tools.lastReported) // it started, and failed
		}
		top := m.Window().Canvas().Overlays().Top()
		if top == nil {
			t.Fatal("no dialog")
		}
		want := "no voxels of label 5 (liver) to refine"
		found := find(top, func(o fyne.CanvasObject) bool {
			l, ok := o.(*widget.Label)
			// Fyne capitalises an error's first letter.
			return ok && strings.Contains(strings.ToLower(l.Text), want)
		})
		if len(found) == 0 {
			t.Errorf("no dialog text containing %q", want)
		}
		typeKey(m, fyne.KeyEscape)
		if m.Window().Canvas().Overlays().Top() != nil || m.openDialogs() != 0 {
			t.Error("Esc did not close the error dialog")
		}
	})
	t.Run("segment without runtime", func(t *testing.T) {
		m := openBlank(t, app.ModelOptions{Runtime: onnxrt.Options{Library: "/nonexistent/libonnxruntime.so.1"}})
		typeKey(m, fyne.KeyU)
		if m.tools.lastJob != nil {
			t.Error("U started a job without the runtime")
		}
		if got := m.toolbar.message.Text; !strings.Contains(got, "Segment is off") || !m.toolbar.message.Visible() {
			t.Errorf("tool bar message %q after U without the runtime", got)
		}
	})
}

// Choosing a label in the segment list (a click on its row) makes it the
// model tools' label.
func TestLabelListChoosesToolLabel(t *testing.T) {
	m := openPatientA(t)
	segs := m.sidebar.segments
	n := slices.IndexFunc(segs.segs, func(l app.Segment) bool { return l.Name == "spleen" })
	if n < 0 {
		t.Fatal("no spleen in patient A's segment list")
	}
	if m.tools.value == segs.segs[n].Value {
		t.Fatal("the tools start on the spleen already: the test shows nothing")
	}
	tapRow(t, m, n)
	if m.tools.value != segs.segs[n].Value || !strings.HasSuffix(m.tools.label.Selected, " spleen") {
		t.Errorf("tool label %d (%q) after choosing the spleen", m.tools.value, m.tools.label.Selected)
	}
}

func TestDescribeModels(t *testing.T) {
	noRT := fmt.Errorf("%w: /x/libonnxruntime.so.1", onnxrt.ErrNoRuntime)
	tests := []struct {
		name  string
		st    app.ModelStatus
		known bool
		want  string
	}{
		{"not looked yet", app.ModelStatus{}, false, "models: looking…"},
		{"no runtime", app.ModelStatus{RuntimeErr: noRT, UNetErr: noRT, SAMErr: noRT}, true, "no ONNX Runtime: Segment and SAM off"},
		{"runtime broken", app.ModelStatus{RuntimeErr: errors.New("bad ELF")}, true, "ONNX Runtime failed: Segment and SAM off"},
		{"all on CUDA", app.ModelStatus{UNet: "polycl-liver", SAM: true, Provider: "CUDA"}, true, "polycl-liver · SAM · on CUDA"},
		{"no U-Net", app.ModelStatus{UNetErr: app.ErrNoModel, SAM: true}, true, "no U-Net (Segment off) · SAM"},
		{"no SAM", app.ModelStatus{UNet: "polycl-liver", SAMErr: app.ErrNoModel, Provider: "CPU"}, true, "polycl-liver · no SAM weights · on CPU"},
	}
	for _, tt := range tests {
		if got := describeModels(tt.st, tt.known); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
