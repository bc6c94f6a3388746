package ui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/stats"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Patient A of the shared real fixtures, read in place.
const realData = "../../shared/data/real/totalsegmentator"

const liver = 5

func patientA(t *testing.T) (ct, seg string) {
	t.Helper()
	if _, err := os.Stat(realData); err != nil {
		t.Skipf("real CT fixtures not present: %v", err)
	}
	return filepath.Join(realData, "example_ct.nii.gz"), filepath.Join(realData, "example_seg_fast_force_split.nii.gz")
}

// openPatientA returns a window of 1000×700 showing patient A and its
// labels, with the overlay fully opaque so that label pixels have exactly
// their table colour.
func openPatientA(t *testing.T) *MainWindow {
	t.Helper()
	ct, seg := patientA(t)
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(1280, 800))
	wait(t, m.Open(ct, seg, volume.OpenOptions{}))
	if v, _ := m.session.Volume(); v == nil {
		t.Fatal("patient A did not open")
	}
	if len(m.session.PresentLabels()) == 0 {
		t.Fatal("patient A's labels did not load")
	}
	m.session.SetOpacity(1)
	settle()
	return m
}

// capture renders the window and returns the part covered by view v.
func capture(m *MainWindow, v *SliceView) *image.RGBA {
	relayout(m.Window().Canvas()) // as the driver does before a frame
	img := m.Window().Canvas().Capture()
	pos := at(v, fyne.Position{})
	sc := m.Window().Canvas().Scale()
	r := image.Rect(int(pos.X*sc), int(pos.Y*sc), int((pos.X+v.Size().Width)*sc), int((pos.Y+v.Size().Height)*sc))
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			out.Set(x, y, img.At(r.Min.X+x, r.Min.Y+y))
		}
	}
	return out
}

// pixelsOf returns the x coordinates of pixels within 3 levels of c.
func pixelsOf(img *image.RGBA, c color.NRGBA) []int {
	var xs []int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			o := img.PixOffset(x, y)
			p := img.Pix[o : o+3]
			if near(p[0], c.R) && near(p[1], c.G) && near(p[2], c.B) {
				xs = append(xs, x)
			}
		}
	}
	return xs
}

func near(a, b uint8) bool { return max(a, b)-min(a, b) <= 3 }

func differs(a, b *image.RGBA) bool {
	if a.Bounds() != b.Bounds() {
		return true
	}
	for i := range a.Pix {
		if a.Pix[i] != b.Pix[i] {
			return true
		}
	}
	return false
}

// centreOf returns the centre of v in canvas coordinates.
func centreOf(v *SliceView) fyne.Position {
	return at(v, fyne.NewPos(v.Size().Width/2, v.Size().Height/2))
}

// moveToLiver puts the crosshair inside the liver, so every view cuts
// through it.
func moveToLiver(t *testing.T, m *MainWindow) {
	t.Helper()
	if err := m.GoToLabel("liver"); err != nil {
		t.Fatal(err)
	}
	settle()
	c := m.session.Cursor()
	m.session.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		if got := l.Labels.At(c[0], c[1], c[2]); got != liver {
			t.Fatalf("GoToLabel(liver) put the crosshair at %v, label %d", c, got)
		}
	})
}

func TestOpenShowsScanAndStatus(t *testing.T) {
	m := openPatientA(t)
	status := m.status.Text
	for _, want := range []string{"example_ct.nii.gz", "122×101×112", "3.00×3.00×3.00 mm", "RAS", "HU", "mm"} {
		if !strings.Contains(status, want) {
			t.Errorf("status line %q lacks %q", status, want)
		}
	}
	if m.hint.Visible() {
		t.Error("the open prompt is still shown over a scan")
	}
	for _, v := range m.views {
		img := capture(m, v)
		if len(pixelsOf(img, color.NRGBA{})) == img.Bounds().Dx()*img.Bounds().Dy() {
			t.Errorf("%s view is all black", v.plane)
		}
	}
}

func TestStatusFollowsTheMouse(t *testing.T) {
	m := openPatientA(t)
	for _, p := range viewer.Planes {
		mouseMove(m, centreOf(m.View(p)))
		if !strings.Contains(m.status.Text, p.String()+" ") || !strings.Contains(m.status.Text, " HU") {
			t.Errorf("mouse over the %s view: status %q", p, m.status.Text)
		}
	}
	// Outside the image, within the view (the image panned away from the
	// mouse): the values at the crosshair again.
	ax := m.View(viewer.Axial)
	// Shift-drag pans the image right by the view's width.
	from := at(ax, fyne.NewPos(2, ax.Size().Height/2))
	drag(m, desktop.MouseButtonPrimary, fyne.KeyModifierShift, from, from.AddXY(ax.Size().Width-4, 0))
	mouseMove(m, centreOf(ax))
	want, _ := ax.ProbeCursor()
	if !strings.HasSuffix(m.status.Text, want.String()) {
		t.Errorf("status %q away from the image, want the crosshair's %q", m.status.Text, want)
	}
}

func TestScrollAndKeysChangeSlice(t *testing.T) {
	m := openPatientA(t)
	v := m.View(viewer.Axial)
	s0, n := v.Slice()
	if n != 112 {
		t.Fatalf("axial view has %d slices, want 112", n)
	}
	before := capture(m, v)

	steps := []struct {
		name string
		do   func()
		want int
	}{
		{"wheel up", func() { scroll(m, centreOf(v), 0, 10) }, s0 + 1},
		{"wheel down", func() { scroll(m, centreOf(v), 0, -10) }, s0},
		{"page up", func() { typeKey(m, fyne.KeyPageUp) }, s0 + 10},
		{"arrow down", func() { typeKey(m, fyne.KeyDown) }, s0 + 9},
		{"page down", func() { typeKey(m, fyne.KeyPageDown) }, s0 - 1},
	}
	for _, st := range steps {
		st.do()
		if got, _ := v.Slice(); got != st.want {
			t.Errorf("%s: slice %d, want %d", st.name, got, st.want)
		}
	}
	if !differs(before, capture(m, v)) {
		t.Error("the axial view looks the same on another slice")
	}
	// Scrolling the axial view moves the crosshair, which the coronal and
	// sagittal views show as a moved horizontal line, not as a new slice.
	if got, _ := m.View(viewer.Coronal).Slice(); got != mustLocate(m, viewer.Coronal) {
		t.Errorf("coronal slice %d does not follow the crosshair", got)
	}
}

func mustLocate(m *MainWindow, p viewer.Plane) int {
	v, _ := m.session.Volume()
	c := m.session.Cursor()
	s, _, _ := viewer.NewSlicer(v.Grid, p).Locate(c[0], c[1], c[2])
	return s
}

func TestWindowPresetsAndRightDragChangePixels(t *testing.T) {
	m := openPatientA(t)
	v := m.View(viewer.Axial)
	before := capture(m, v)

	lung := m.window.buttons[2]
	tap(m, lung)
	if w := m.session.Window(); w != (viewer.Window{Width: 1500, Level: -600}) {
		t.Fatalf("after tapping %q the window is %v", lung.Text, w)
	}
	if !strings.Contains(m.window.label.Text, "lung") || lung.Importance != widget.HighImportance {
		t.Errorf("window label %q does not name the preset, or its button is not marked", m.window.label.Text)
	}
	lungImg := capture(m, v)
	if !differs(before, lungImg) {
		t.Error("the lung window draws the same pixels as the abdomen window")
	}

	typeKey(m, fyne.Key4)
	if w := m.session.Window(); w != (viewer.Window{Width: 1800, Level: 400}) {
		t.Errorf("after key 4 the window is %v, want bone", w)
	}
	tap(m, lung)

	// Right-drag: 50 units across widens the window by 100 HU.
	p := at(v, fyne.NewPos(100, 100))
	drag(m, desktop.MouseButtonSecondary, 0, p, p.AddXY(50, 0))
	if w := m.session.Window(); w.Width != 1600 || w.Level != -600 {
		t.Errorf("after a right-drag the window is %v, want W 1600 L -600", w)
	}
	if !differs(lungImg, capture(m, v)) {
		t.Error("a right-drag did not change the pixels")
	}
}

func TestOverlayVisibilityAndOutline(t *testing.T) {
	m := openPatientA(t)
	moveToLiver(t, m)
	v := m.View(viewer.Axial)
	liverColor := assets.DefaultColorTable().Color(liver)

	filled := len(pixelsOf(capture(m, v), liverColor))
	if filled < 100 {
		t.Fatalf("%d liver-coloured pixels in the axial view through the liver", filled)
	}
	tapCheck(m, m.sidebar.outline)
	outlined := len(pixelsOf(capture(m, v), liverColor))
	if outlined == 0 || outlined >= filled/2 {
		t.Errorf("outline draws %d liver pixels, filled %d: want a thin border", outlined, filled)
	}
	tapCheck(m, m.sidebar.outline)

	// The liver's row: its check hides it.
	n := slices.IndexFunc(m.sidebar.segments.segs, func(s app.Segment) bool { return s.Value == liver })
	hide := find(rowOf(t, m, n), func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Check); return ok })
	if len(hide) != 1 {
		t.Fatalf("%d checks in the liver's row", len(hide))
	}
	tapCheck(m, hide[0].(*widget.Check))
	if n := len(pixelsOf(capture(m, v), liverColor)); n != 0 {
		t.Errorf("%d liver-coloured pixels with the liver hidden", n)
	}
	tapCheck(m, hide[0].(*widget.Check))
	// A click at the slider's left end: opacity 0.
	op := m.sidebar.opacity
	click(m, at(op, fyne.NewPos(1, op.Size().Height/2)))
	if n := len(pixelsOf(capture(m, v), liverColor)); n != 0 || op.Value != 0 {
		t.Errorf("%d liver-coloured pixels at opacity %v", n, op.Value)
	}
}

func TestLabelListShowsLabels(t *testing.T) {
	m := openPatientA(t)
	segs := m.sidebar.segments
	var found bool
	for _, l := range segs.segs {
		if l.Value == liver && l.Name == "liver" {
			found = true
		}
	}
	if !found {
		t.Errorf("segment list %v lacks the liver", segs.segs)
	}
	// Selecting a row chooses the segment; Go to (J) takes the crosshair
	// into it.
	for n, l := range segs.segs {
		if l.Value != 1 { // spleen
			continue
		}
		tapRow(t, m, n)
		typeKey(m, fyne.KeyJ)
		c := m.session.Cursor()
		m.session.Read(func(_ *volume.Volume, o *viewer.Overlay) {
			if got := o.Labels.At(c[0], c[1], c[2]); got != 1 {
				t.Errorf("going to the spleen put the crosshair on label %d", got)
			}
		})
	}
	if err := m.GoToLabel("liver"); err != nil {
		t.Fatal(err)
	}
	settle()
	if !strings.Contains(m.status.Text, "liver (5)") {
		t.Errorf("status %q does not name the label at the crosshair", m.status.Text)
	}
	for _, bad := range []string{"nope", "999"} {
		if err := m.GoToLabel(bad); err == nil {
			t.Errorf("GoToLabel(%q) succeeded", bad)
		}
	}
}

// TestLiverOnScreenLeft checks the radiological convention end to end, from
// the file through the session to the screen: the patient's right, where
// the liver is, is on the left of the axial view.
func TestLiverOnScreenLeft(t *testing.T) {
	m := openPatientA(t)
	moveToLiver(t, m)
	v := m.View(viewer.Axial)
	img := capture(m, v)
	xs := pixelsOf(img, assets.DefaultColorTable().Color(liver))
	if len(xs) < 100 {
		t.Fatalf("only %d liver pixels on screen", len(xs))
	}
	mid := img.Bounds().Dx() / 2
	left := 0
	for _, x := range xs {
		if x < mid {
			left++
		}
	}
	if left*10 < len(xs)*8 {
		t.Errorf("%d of %d liver pixels left of the axial view's centre, want at least 80%%", left, len(xs))
	}
}

func TestTapMovesCrosshairInAllViews(t *testing.T) {
	m := openPatientA(t)
	ax, cor := m.View(viewer.Axial), m.View(viewer.Coronal)
	before := m.session.Cursor()
	corBefore := capture(m, cor)

	// A point left of and above the axial view's centre: towards the
	// patient's right and anterior, which in patient A's RAS grid are
	// larger i and larger j.
	sz := ax.Size()
	click(m, at(ax, fyne.NewPos(sz.Width*0.3, sz.Height*0.3)))
	after := m.session.Cursor()
	if after == before {
		t.Fatal("a tap did not move the crosshair")
	}
	if after[2] != before[2] {
		t.Errorf("a tap in the axial view changed the axial slice (k %d -> %d)", before[2], after[2])
	}
	if after[0] <= before[0] || after[1] <= before[1] {
		t.Errorf("tap up-left moved the crosshair from %v to %v: want towards R and A (larger i and j)", before, after)
	}
	if got, _ := cor.Slice(); got != mustLocate(m, viewer.Coronal) {
		t.Errorf("coronal view shows slice %d, not the crosshair's", got)
	}
	if !differs(corBefore, capture(m, cor)) {
		t.Error("the coronal view did not jump to the new point")
	}
}

func TestMaximiseAndRestore(t *testing.T) {
	m := openPatientA(t)
	sag := m.View(viewer.Sagittal)
	small := sag.Size()
	doubleClick(m, centreOf(sag))
	if m.Maximised() != sag || len(m.grid.Objects) != 1 {
		t.Fatalf("double tap: maximised %v, %d objects in the grid", m.Maximised(), len(m.grid.Objects))
	}
	if big := sag.Size(); big.Width <= small.Width || big.Height <= small.Height {
		t.Errorf("maximised view is %v, was %v", big, small)
	}
	typeKey(m, fyne.KeyF)
	if m.Maximised() != nil || len(m.grid.Objects) != 4 {
		t.Errorf("F did not restore the three views")
	}
	buttons := find(m.View(viewer.Coronal), func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Button); return ok })
	if len(buttons) != 1 {
		t.Fatalf("%d buttons in the coronal view, want its maximise button", len(buttons))
	}
	tap(m, buttons[0])
	if m.Maximised() != m.View(viewer.Coronal) {
		t.Errorf("the maximise button maximised %v", m.Maximised())
	}
}

func TestZoomPanAndReset(t *testing.T) {
	m := openPatientA(t)
	v := m.View(viewer.Axial)
	before := capture(m, v)
	mouseMove(m, centreOf(v)) // keys go to the view under the mouse
	typeKey(m, fyne.KeyEqual)
	if z := v.Viewport().Zoom; z <= 1 {
		t.Errorf("zoom %v after +", z)
	}
	if !differs(before, capture(m, v)) {
		t.Error("zooming did not change the pixels")
	}
	zoomed := v.Viewport()
	drag(m, desktop.MouseButtonTertiary, 0, centreOf(v), centreOf(v).AddXY(20, 10))
	if vp := v.Viewport(); math.Abs(vp.PanX-zoomed.PanX-20) > 0.1 || math.Abs(vp.PanY-zoomed.PanY-10) > 0.1 || vp.Zoom != zoomed.Zoom {
		// Pan is in raster pixels, a Fyne unit times the canvas scale
		// (1 here) up to the rounding of the view's size to pixels.
		t.Errorf("viewport %+v after a pan of (20, 10) from %+v", vp, zoomed)
	}
	typeKey(m, fyne.KeyHome)
	if vp := v.Viewport(); vp != (viewer.Viewport{}) {
		t.Errorf("viewport %+v after Home", vp)
	}
	if differs(before, capture(m, v)) {
		t.Error("the view after Home differs from the first one")
	}
}

func TestOpenErrorsShowADialog(t *testing.T) {
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(800, 600))
	missing := filepath.Join(t.TempDir(), "missing.nii.gz")
	wait(t, m.Open(missing, "", volume.OpenOptions{}))
	if m.Window().Canvas().Overlays().Top() == nil {
		t.Error("no error dialog after opening a missing file")
	}
	if v, _ := m.session.Volume(); v != nil {
		t.Error("a failed open left a volume")
	}
	if !m.hint.Visible() {
		t.Error("the open prompt is hidden with no scan")
	}
}

func TestDropOpensTheFile(t *testing.T) {
	ct, _ := patientA(t)
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(800, 600))
	abs, err := filepath.Abs(ct)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, m.drop([]fyne.URI{storage.NewFileURI(abs)}))
	if _, path := m.session.Volume(); path != abs {
		t.Errorf("after the drop the open scan is %q, want %q", path, abs)
	}
}

// A label file dropped on a window showing a scan it fits is offered as
// labels; the user chooses labels or a new scan. A scan dropped there
// replaces the open one without asking.
func TestDropLabelsAsks(t *testing.T) {
	m := openTools(t)
	v, _ := m.session.Volume()
	dir := t.TempDir()
	seg := volume.NewLabels(v.Grid)
	for i := range 50 {
		seg.Data[i] = 2
	}
	segPath := filepath.Join(dir, "seg.nii.gz")
	if err := volume.WriteLabels(segPath, seg, v); err != nil {
		t.Fatal(err)
	}
	wait(t, m.drop([]fyne.URI{storage.NewFileURI(segPath)}))
	if m.openDialogs() != 1 {
		t.Fatal("dropping a label file on the scan asked nothing")
	}
	if text := strings.Join(textsOf(m.Window().Canvas().Overlays().Top()), " "); !strings.Contains(text, "2 label values, on the scan's grid") {
		t.Errorf("the question %q does not say why the file looks like labels", text)
	}
	dialogButton(t, m, "Open as labels")
	eventually(t, "the dropped labels loaded", func() bool { return m.session.SegmentOf(2).Voxels == 50 })
	if now, _ := m.session.Volume(); now != v {
		t.Error("opening the dropped file as labels replaced the scan")
	}

	wait(t, m.drop([]fyne.URI{storage.NewFileURI(segPath)}))
	dialogButton(t, m, "Open as a new scan")
	eventually(t, "the dropped file opened as a scan", func() bool { _, p := m.session.Volume(); return p == segPath })

	ct := filepath.Join(dir, "ct.nii.gz")
	if err := volume.WriteNIfTI(ct, toolVolume()); err != nil {
		t.Fatal(err)
	}
	wait(t, m.drop([]fyne.URI{storage.NewFileURI(ct)}))
	if _, p := m.session.Volume(); p != ct || m.openDialogs() != 0 {
		t.Errorf("dropping a scan: open %q, %d dialogs; want it open without a question", p, m.openDialogs())
	}
}

func TestGeneratedScan(t *testing.T) {
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(800, 600))
	g := volume.Grid{Dims: [3]int{20, 20, 10}, Affine: volume.Identity()}
	vol := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	lab := volume.NewLabels(g)
	lab.Data[g.Index(10, 10, 5)] = liver
	wait(t, m.OpenGenerated("example", func(ctx context.Context, p app.Progress) (*volume.Volume, *volume.Labels, error) {
		return vol, lab, nil
	}))
	if got := m.session.PresentLabels(); len(got) != 1 || got[0].Value != liver {
		t.Errorf("labels of the generated scan: %v", got)
	}
	if !strings.HasPrefix(m.status.Text, "example") {
		t.Errorf("status %q does not name the example", m.status.Text)
	}
}

// find returns the objects under o (o included) for which match is true.
func find(o fyne.CanvasObject, match func(fyne.CanvasObject) bool) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	if match(o) {
		out = append(out, o)
	}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, find(c, match)...)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = append(out, find(c, match)...)
		}
	}
	return out
}

func TestChooseSeries(t *testing.T) {
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(800, 600))
	series := []volume.SeriesInfo{
		{Number: 2, Description: "CT Body 3.0", Modality: "CT", Slices: 20, Rows: 512, Cols: 512},
		{Number: 5, Description: "odd slices", Modality: "CT", Slices: 10, Rows: 512, Cols: 512},
	}
	chosen := 0
	m.chooseSeries("/data/dicom", series, func(n int) { chosen = n })
	top := m.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog to choose a series")
	}
	radios := find(top, func(o fyne.CanvasObject) bool { _, ok := o.(*widget.RadioGroup); return ok })
	if len(radios) != 1 {
		t.Fatalf("%d radio groups in the dialog", len(radios))
	}
	radio := radios[0].(*widget.RadioGroup)
	if len(radio.Options) != 2 || !strings.Contains(radio.Options[1], "odd slices") {
		t.Fatalf("choices %q", radio.Options)
	}
	tapRadio(t, m, radio, radio.Options[1])
	buttons := find(top, func(o fyne.CanvasObject) bool { b, ok := o.(*widget.Button); return ok && b.Text == "Open" })
	if len(buttons) != 1 {
		t.Fatalf("%d Open buttons in the dialog", len(buttons))
	}
	tap(m, buttons[0])
	if chosen != 2 {
		t.Errorf("chose series %d, want 2", chosen)
	}
}

// Closing the window autosaves into the autosave folder, never beside the
// scan; opening the scan again offers the autosave, saying where it is,
// and Yes restores it.
func TestAutosaveIsOfferedBack(t *testing.T) {
	scanDir, dir := t.TempDir(), t.TempDir()
	ct := filepath.Join(scanDir, "ct.nii.gz")
	if err := volume.WriteNIfTI(ct, toolVolume()); err != nil {
		t.Fatal(err)
	}
	first := newWindow(t, app.Options{AutosaveDir: dir})
	first.Window().Resize(fyne.NewSize(800, 600))
	wait(t, first.Open(ct, "", volume.OpenOptions{}))
	if _, err := first.session.Paint("Paint", []int{0, 1, 2}, 5); err != nil {
		t.Fatal(err)
	}
	settle()
	// Closing the window autosaves, as a crash after the last tick would
	// have left the same file.
	first.Close()
	if entries, _ := os.ReadDir(scanDir); len(entries) != 1 {
		t.Errorf("the scan's folder holds %d files after the autosave, want the scan alone", len(entries))
	}

	second := newWindow(t, app.Options{AutosaveDir: dir})
	t.Cleanup(second.session.Close)
	second.Window().Resize(fyne.NewSize(800, 600))
	wait(t, second.Open(ct, "", volume.OpenOptions{}))
	top := second.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no offer to restore the autosave")
	}
	text := strings.Join(textsOf(top), " ")
	v, _ := second.session.Volume()
	if !strings.Contains(text, dir) || !strings.Contains(text, "("+volumeML(3*stats.VoxelML(v.Grid))+" labelled)") {
		t.Errorf("the offer %q does not say where the autosave is and what it holds as the list does", text)
	}
	dialogButton(t, second, "Yes")
	got := second.session.PresentLabels()
	if len(got) != 1 || got[0].Value != 5 || got[0].Voxels != 3 {
		t.Errorf("restored labels %v, want 3 voxels of label 5", got)
	}
}

// The jobs bar shows every job, the user's own first with its progress
// and cancel button, the background encoding after it.
func TestJobsBarShowsProgressAndCancels(t *testing.T) {
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(800, 600))
	run := func(name string, frac float64, stage string) (*app.Job, chan struct{}) {
		reported := make(chan struct{})
		job := m.session.RunJob(name, func(ctx context.Context, p app.Progress) error {
			p.Report(frac, stage)
			close(reported)
			<-ctx.Done()
			return ctx.Err()
		})
		return job, reported
	}
	encode, r1 := run(app.EncodeAheadName, 0.5, "slice 3 (40 left)")
	<-r1
	job, r2 := run("Segment", 0.25, "slice 1/4")
	<-r2
	settle()
	if !m.jobs.box.Visible() {
		t.Fatal("jobs bar hidden while a job runs")
	}
	if got, want := m.jobs.label.Text, "Segment: slice 1/4  ·  "+app.EncodeAheadName+": slice 3 (40 left) (50%)"; got != want {
		t.Errorf("jobs bar label %q, want %q", got, want)
	}
	// The status line keeps the whole width while jobs run.
	if w, all := m.status.Size().Width, m.Window().Canvas().Content().Size().Width; w < all*0.95 {
		t.Errorf("the status line is %v wide of %v with the jobs bar shown", w, all)
	}
	if got := m.jobs.bar.Value; got != 0.25 {
		t.Errorf("progress %v, want 0.25", got)
	}
	tap(m, m.jobs.cancel)
	if err := waitJob(t, job); !app.Canceled(err) {
		t.Errorf("job ended with %v after Cancel", err)
	}
	if got := m.jobs.label.Text; got != app.EncodeAheadName+": slice 3 (40 left)" {
		t.Errorf("jobs bar label %q with the encoding alone", got)
	}
	tap(m, m.jobs.cancel)
	if err := waitJob(t, encode); !app.Canceled(err) {
		t.Errorf("encoding ended with %v after Cancel", err)
	}
	if m.jobs.box.Visible() {
		t.Error("jobs bar still shown after the job ended")
	}
}

// rowOf returns segment n's row of the segment list, scrolled into view.
func rowOf(t *testing.T, m *MainWindow, n int) fyne.CanvasObject {
	t.Helper()
	segs := m.sidebar.segments
	segs.list.ScrollTo(n)
	settle()
	seg := segs.segs[n]
	want := fmt.Sprintf("%d %s (", seg.Value, seg.Name)
	rows := find(segs.list, func(o fyne.CanvasObject) bool {
		if _, ok := o.(fyne.Tappable); !ok {
			return false
		}
		switch o.(type) {
		case *widget.Button, *widget.Check, *swatch:
			return false
		}
		return slices.ContainsFunc(textsOf(o), func(s string) bool { return strings.HasPrefix(s, want) })
	})
	if len(rows) != 1 {
		t.Fatalf("%d rows of the segment list show %q", len(rows), want)
	}
	return rows[0]
}

// tapRow clicks segment n's row of the segment list.
func tapRow(t *testing.T, m *MainWindow, n int) { tap(m, rowOf(t, m, n)) }

// tapCheck clicks check box c on its box, where a click toggles it.
func tapCheck(m *MainWindow, c *widget.Check) {
	click(m, at(c, fyne.NewPos(c.Size().Height/2, c.Size().Height/2)))
}

// tapRadio clicks option of radio group g.
func tapRadio(t *testing.T, m *MainWindow, g *widget.RadioGroup, option string) {
	t.Helper()
	items := find(g, func(o fyne.CanvasObject) bool {
		_, ok := o.(fyne.Tappable)
		return ok && o != fyne.CanvasObject(g) && slices.Contains(textsOf(o), option)
	})
	if len(items) == 0 {
		t.Fatalf("radio group has no %q", option)
	}
	tap(m, items[len(items)-1])
}

// Export labels (Ctrl+S) opens its dialog in the scan's folder, listing
// NIfTI files only.
func TestExportDialogStartsBesideTheScan(t *testing.T) {
	dir := t.TempDir()
	ct := filepath.Join(dir, "ct.nii.gz")
	if err := volume.WriteNIfTI(ct, toolVolume()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"old_labels.nii", "notes.txt", "ct.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(1280, 800))
	wait(t, m.Open(ct, "", volume.OpenOptions{}))
	press(m, fyne.KeyModifierControl, fyne.KeyS)
	settle()
	top := m.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("Ctrl+S opened no dialog")
	}
	texts := textsOf(top)
	// The dialog shows a file's name and its extension apart.
	for _, want := range []string{filepath.Base(dir), "ct.nii", "old_labels", "ct_labels.nii.gz"} {
		if !slices.Contains(texts, want) {
			t.Errorf("the save dialog does not show %q: it did not start beside the scan (%q)", want, texts)
		}
	}
	for _, not := range []string{".txt", ".json"} {
		if slices.Contains(texts, not) {
			t.Errorf("the save dialog lists a %s file, which is no NIfTI file", not)
		}
	}
}
