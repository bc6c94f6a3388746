package app

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// previewSlice returns the label's mask on axial slice k of the pending
// preview (nil when there is none).
func previewSlice(t *testing.T, s *Session, sl *section.Slicer, k int, label uint16) *section.Mask {
	t.Helper()
	var m *section.Mask
	s.ReadPreview(func(l *Proposal) {
		if l != nil {
			m, _ = l.mask(sl, k, label)
		}
	})
	return m
}

// aClick returns a click on slice k that the reference asks for: on the
// pixel where the mask and the reference disagree with most such pixels of
// the same kind around it, positive where the mask misses the reference,
// negative where it has more.
func aClick(sl *section.Slicer, mask, ref *section.Mask, k int) ([3]int, bool) {
	v, positive, _ := clickOf(sl, mask, ref, k, func(bool) bool { return true })
	return v, positive
}

// clickOf is aClick among the clicks whose sign want accepts, and false
// when there is none.
func clickOf(sl *section.Slicer, mask, ref *section.Mask, k int, want func(positive bool) bool) ([3]int, bool, bool) {
	best, bestN, positive := -1, -1, true
	for i := range ref.Data {
		if ref.Data[i] == mask.Data[i] || !want(ref.Data[i]) {
			continue
		}
		r, c := i/ref.Cols, i%ref.Cols
		n := 0
		for dr := -3; dr <= 3; dr++ {
			for dc := -3; dc <= 3; dc++ {
				rr, cc := r+dr, c+dc
				if rr >= 0 && cc >= 0 && rr < ref.Rows && cc < ref.Cols && ref.Data[rr*ref.Cols+cc] == ref.Data[i] && ref.Data[rr*ref.Cols+cc] != mask.Data[rr*ref.Cols+cc] {
					n++
				}
			}
		}
		if n > bestN {
			best, bestN, positive = i, n, ref.Data[i]
		}
	}
	if best < 0 {
		return [3]int{}, false, false
	}
	return sl.Voxel(k, best/ref.Cols, best%ref.Cols), positive, true
}

// Clicks on a box's preview correct it with the box kept: the clicked
// pixel ends as the click said, taking the click back brings the box's
// answer back exactly, and accepting makes one undo step whose provenance
// holds the box and the clicks.
func TestClicksOnABoxPatientB(t *testing.T) {
	s, ref := newPatientBSession(t, Options{ClickDelay: -1})
	slice, k, a, b := liverBox(t, ref)
	job, err := s.BoxPrompt(viewer.Axial, slice, a, b, liver)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	sl, _ := section.NewSlicer(ref.Grid, section.Axial)
	boxed := previewSlice(t, s, sl, k, liver)
	refm, _ := sl.Mask(ref, k, liver)
	t.Logf("box on slice %d: 2D Dice %.3f", slice+1, section.Dice(boxed, refm))
	if d := section.Dice(boxed, refm); d < 0.95 {
		t.Errorf("the guarded box's 2D Dice %.3f < 0.95", d)
	}
	if len(s.Clicks(liver)) != 0 {
		t.Fatal("clicks before any click")
	}
	voxel, positive := aClick(sl, boxed, refm, k)
	job, err = s.Click(viewer.Axial, slice, voxel, positive, liver)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	clicks := s.Clicks(liver)
	if len(clicks) != 1 || clicks[0].Voxel != voxel || clicks[0].Positive != positive || clicks[0].Slice != slice {
		t.Fatalf("clicks %+v: want the one click at %v", clicks, voxel)
	}
	after := previewSlice(t, s, sl, k, liver)
	_, r, c := sl.Pixel(voxel)
	if after.Data[r*sl.Cols+c] != positive {
		t.Errorf("the clicked pixel is %v after a click saying %v", after.Data[r*sl.Cols+c], positive)
	}
	t.Logf("after one click (positive %v): 2D Dice %.3f", positive, section.Dice(after, refm))

	// The last click taken back brings the box's preview back as it was,
	// with nothing to decode.
	job, err = s.RemoveLastClick(liver)
	if err != nil || job != nil {
		t.Fatalf("RemoveLastClick of the last click: %v, %v", job, err)
	}
	if back := previewSlice(t, s, sl, k, liver); !slices.Equal(back.Data, boxed.Data) || len(s.Clicks(liver)) != 0 {
		t.Error("taking the click back did not bring the box's answer back")
	}
	if job, err := s.RemoveLastClick(liver); job != nil || err != nil {
		t.Errorf("RemoveLastClick with no click: %v, %v", job, err)
	}
	job, err = s.Click(viewer.Axial, slice, voxel, positive, liver)
	if err != nil {
		t.Fatal(err)
	}
	acceptJob(t, s, job, err)
	log := s.ProvenanceLog()
	if len(log) != 1 || log[0].What.Prompts == nil || len(log[0].What.Prompts.Boxes) != 1 || len(log[0].What.Prompts.Points) != 1 {
		t.Fatalf("provenance %+v: want one edit with the box and the click", log)
	}
	if len(s.Clicks(liver)) != 0 {
		t.Error("clicks stay after the preview was accepted")
	}
	if _, ok := s.Undo(); !ok || slices.ContainsFunc(labelsOf(s), func(x uint16) bool { return x == liver }) {
		t.Error("one undo did not take the box and its click away")
	}
}

// A click on a propagated liver re-runs, once the clicking stops, only the
// span between the clicked slice's neighbouring anchors; the clicked slice
// becomes an anchor, the slices outside the span keep what was accepted.
func TestClickRepropagatesTheSpanPatientB(t *testing.T) {
	f := newLiverFixture(t, Options{ClickDelay: 20 * time.Millisecond})
	s, ref, sl, vs, before := f.s, f.ref, f.sl, f.vs, f.before
	const k = 9
	voxel, positive := f.click(t, k)
	// The click's delay ends; the span's propagation runs and ends.
	waitSpanPropagation(t, s)
	info, ok := s.Preview()
	if !ok || !strings.HasPrefix(info.Name, "Propagate") {
		t.Fatalf("preview %+v after the click's delay: want the span's propagation", info)
	}
	conf := s.Confidence(viewer.Axial, liver)
	if c := conf[viewSlice(vs, sl, k)]; !c.Anchor || c.Confidence != 1 {
		t.Errorf("the clicked slice: %+v; want an anchor", c)
	}
	if _, err := s.AcceptPreview(); err != nil {
		t.Fatal(err)
	}
	got := labelsOf(s)
	_, r, c := sl.Pixel(voxel)
	now, _ := sl.Mask(&volume.Labels{Grid: ref.Grid, Data: got}, k, liver)
	if now.Data[r*sl.Cols+c] != positive {
		t.Error("the clicked pixel does not say what the click said after the propagation")
	}
	// Outside the span 5..14 nothing changed.
	for kk := 0; kk < sl.Slices; kk++ {
		if kk >= 5 && kk <= 14 {
			continue
		}
		sl.Each(kk, func(_, idx int) {
			if got[idx] != before[idx] {
				t.Fatalf("slice %d outside the span changed", kk)
			}
		})
	}
	t.Logf("3D Dice %.4f before the click, %.4f after", dice(before, ref.Data, liver, nil), dice(got, ref.Data, liver, nil))
}

// What a click cannot do is refused at once, saying why.
func TestClickRefusals(t *testing.T) {
	s := newTestSession(t, Options{})
	v, _ := s.Volume()
	mid := [3]int{v.Dims[0] / 2, v.Dims[1] / 2, v.Dims[2] / 2}
	vs := viewer.NewSlicer(v.Grid, viewer.Axial)
	slice, _, _ := vs.Locate(mid[0], mid[1], mid[2])
	for _, tc := range []struct {
		name  string
		plane viewer.Plane
		slice int
		voxel [3]int
		label uint16
		want  string
	}{
		{"background", viewer.Axial, slice, mid, 0, "background"},
		{"coronal", viewer.Coronal, 1, mid, 3, "axial"},
		{"voxel outside", viewer.Axial, slice, [3]int{-1, 0, mid[2]}, 3, "outside"},
		{"voxel on another slice", viewer.Axial, slice, [3]int{mid[0], mid[1], (mid[2] + 1) % v.Dims[2]}, 3, "not on axial slice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if job, err := s.Click(tc.plane, tc.slice, tc.voxel, true, tc.label); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("job %v, error %v; want one saying %q", job, err, tc.want)
			}
		})
	}
	// A pending preview of another kind (a fill between slices) must be
	// accepted or rejected first.
	sl, _ := section.NewSlicer(v.Grid, section.Axial)
	for _, k := range []int{1, 5} {
		var idx []int
		sl.Each(k, func(i, x int) {
			if r, c := i/sl.Cols, i%sl.Cols; r > 2 && r < 8 && c > 2 && c < 8 {
				idx = append(idx, x)
			}
		})
		if _, err := s.Paint("Paint", idx, 3); err != nil {
			t.Fatal(err)
		}
	}
	job, err := s.FillBetween(viewer.Axial, 3, FillShape)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Click(viewer.Axial, slice, mid, true, 3); err == nil || !strings.Contains(err.Error(), "accept") {
		t.Errorf("a click with a fill pending: %v; want a refusal saying accept or reject", err)
	}
}

// The strip, X and the summary use one meaning of doubtful: the engine's
// DoubtBelow as the session's models are set, and each doubtful slice
// says why.
func TestOneMeaningOfDoubtful(t *testing.T) {
	for _, below := range []float64{propagate.DefaultDoubtBelow, 0.6} {
		o := propagate.DefaultSAMOptions()
		o.DoubtBelow = below
		s := New(Options{ModelOptions: ModelOptions{Propagation: &o}})
		t.Cleanup(s.Close)
		if err := s.SetVolume(testVolume(1), "test"); err != nil {
			t.Fatal(err)
		}
		if s.DoubtBelow() != below {
			t.Fatalf("DoubtBelow %v, the options say %v", s.DoubtBelow(), below)
		}
		rec := newPropRecord()
		rec.anchors = []int{2}
		for k, c := range map[int]float64{1: 0.2, 2: 1, 3: 0.5, 4: 0.9, 5: 0} {
			rec.confidence[k], rec.reasons[k] = c, "reason of slice "+string(rune('0'+k))
		}
		rec.reasons[5] = "the propagation stopped here: SAM found nothing"
		s.mu.Lock()
		s.props.records = map[uint16]*propRecord{7: rec}
		s.mu.Unlock()
		conf := s.Confidence(viewer.Axial, 7)
		var doubtful []int
		for _, c := range conf {
			if c.Doubtful {
				doubtful = append(doubtful, c.Slice)
				if c.Reason == "" || !(c.Confidence < below) || c.Anchor {
					t.Errorf("threshold %v: doubtful slice %+v", below, c)
				}
			}
		}
		sum, _ := s.Propagation(7)
		if sum.Doubtful != len(doubtful) {
			t.Errorf("threshold %v: the summary counts %d doubtful slices, the strip %d", below, sum.Doubtful, len(doubtful))
		}
		want := 0
		for k, c := range rec.confidence {
			if propagate.Doubtful(c, slices.Contains(rec.anchors, k), rec.unchecked[k], below) {
				want++
			}
		}
		if len(doubtful) != want {
			t.Errorf("threshold %v: %d doubtful slices, propagate.Doubtful says %d", below, len(doubtful), want)
		}
		if next, ok := s.NextDoubtful(viewer.Axial, 7, -1, 1); ok != (want > 0) || (ok && !slices.Contains(doubtful, next.Slice)) {
			t.Errorf("threshold %v: NextDoubtful = %+v, %v", below, next, ok)
		}
		for _, c := range conf {
			if !math.IsNaN(c.Confidence) && c.Confidence == 0 && !strings.Contains(c.Reason, "stopped") {
				t.Errorf("the slice where the propagation stopped says %q", c.Reason)
			}
		}
	}
}

// Clicks on a propagation's preview not yet accepted correct it in place:
// the rest of the preview stays, P runs the span again, and Enter accepts
// all of it as one undo step. Patient A's left kidney (small slices).
func TestClicksOnAPendingPropagationPatientA(t *testing.T) {
	models := testModels(t)
	v, ref := realdata.PatientA(t, realData)
	s := New(Options{Models: models, ClickDelay: -1, AutosaveDir: t.TempDir()})
	t.Cleanup(s.Close)
	if err := s.SetVolume(v, "patient A"); err != nil {
		t.Fatal(err)
	}
	const kidney = 3
	sl, _ := section.NewSlicer(v.Grid, section.Axial)
	vs := viewer.NewSlicer(v.Grid, viewer.Axial)
	best, area := 0, 0
	for k := 0; k < sl.Slices; k++ {
		m, _ := sl.Mask(ref, k, kidney)
		if a := m.Area(); a > area {
			best, area = k, a
		}
	}
	m, _ := sl.Mask(ref, best, kidney)
	var idx []int
	for i, on := range m.Data {
		if on {
			vx := sl.Voxel(best, i/sl.Cols, i%sl.Cols)
			idx = append(idx, v.Index(vx[0], vx[1], vx[2]))
		}
	}
	if _, err := s.Paint("Paint", idx, kidney); err != nil {
		t.Fatal(err)
	}
	job, err := s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: viewSlice(vs, sl, best), Label: kidney})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Preview()
	k := best - 6
	pred := previewSlice(t, s, sl, k, kidney)
	refm, _ := sl.Mask(ref, k, kidney)
	voxel, positive := aClick(sl, pred, refm, k)
	job, err = s.Click(viewer.Axial, viewSlice(vs, sl, k), voxel, positive, kidney)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	info, ok := s.Preview()
	if !ok || info.Name != before.Name {
		t.Fatalf("preview %+v after the click; want the propagation's, corrected", info)
	}
	if far := previewSlice(t, s, sl, best+4, kidney); far == nil || far.Area() == 0 {
		t.Error("the click dropped the rest of the propagation's preview")
	}
	job, err = s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: viewSlice(vs, sl, k), Label: kidney})
	acceptJob(t, s, job, err)
	got := labelsOf(s)
	_, r, c := sl.Pixel(voxel)
	if (got[v.Index(voxel[0], voxel[1], voxel[2])] == kidney) != positive || r < 0 || c < 0 {
		t.Error("the clicked voxel does not say what the click said")
	}
	d := dice(got, ref.Data, kidney, nil)
	t.Logf("left kidney: 3D Dice %.3f after the click and P", d)
	if d < 0.85 {
		t.Errorf("3D Dice %.3f < 0.85", d)
	}
	if _, ok := s.Undo(); !ok || dice(labelsOf(s), ref.Data, kidney, func(i int) bool { return true }) > 0.1 {
		t.Error("one undo did not take the propagation and its correction away")
	}
}

// waitSpanPropagation waits for the propagation a click's delay starts,
// and returns once it has ended.
func waitSpanPropagation(t *testing.T, s *Session) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var prop *Job
		for _, j := range s.Jobs() {
			if strings.HasPrefix(j.Name(), "Propagate") {
				prop = j
			}
		}
		if prop != nil {
			if err := prop.Wait(); err != nil {
				t.Fatal(err)
			}
			return
		}
		if info, ok := s.Preview(); ok && strings.HasPrefix(info.Name, "Propagate") {
			return // it ran and ended already
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no propagation after the click's delay")
}

// Ctrl+Z (Session.Undo) takes back what the user did last: with a click
// pending, the click and the propagation it started, leaving the labels
// exactly as accepted; with a preview pending and no click, the preview;
// only then the accepted edits. Undoing an accepted edit under a pending
// preview would come back with the preview's Enter.
func TestUndoTakesBackTheLastInteractionPatientB(t *testing.T) {
	f := newLiverFixture(t, Options{ClickDelay: 20 * time.Millisecond})
	s, sl, vs, before, accepted := f.s, f.sl, f.vs, f.before, f.accepted
	const k = 9
	f.click(t, k)
	waitSpanPropagation(t, s)
	clickName := fmt.Sprintf("SAM click on slice %d", viewSlice(vs, sl, k)+1)
	if undo, _ := s.UndoRedoNames(); undo != clickName {
		t.Errorf("Undo would take back %q; want %q", undo, clickName)
	}
	if name, ok := s.Undo(); !ok || name != clickName {
		t.Fatalf("Undo after the click: %q, %v; want %q", name, ok, clickName)
	}
	if info, ok := s.Preview(); ok {
		t.Errorf("the click's propagation %q is still pending after Undo", info.Name)
	}
	if !slices.Equal(labelsOf(s), before) {
		t.Error("the labels changed")
	}
	if undo, _ := s.UndoRedoNames(); undo != accepted.Name {
		t.Errorf("next Undo %q; want the accepted %q", undo, accepted.Name)
	}

	// A propagation pending with no click: Undo rejects it.
	job, err := s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: viewSlice(vs, sl, k), Label: liver})
	pending := waitPreview(t, s, job, err)
	// A click on it, and the propagation the click starts, taken back:
	// the propagation's preview comes back as it was, slice by slice and
	// in the strip.
	snapshot := func() ([]*section.Mask, []SliceConfidence) {
		var ms []*section.Mask
		for kk := 0; kk < sl.Slices; kk++ {
			ms = append(ms, previewSlice(t, s, sl, kk, liver))
		}
		return ms, s.Confidence(viewer.Axial, liver)
	}
	masks, conf := snapshot()
	f.click(t, 12)
	waitSpanPropagation(t, s)
	if name, ok := s.Undo(); !ok || !strings.HasPrefix(name, "SAM click") {
		t.Fatalf("Undo after a click on the pending propagation: %q, %v", name, ok)
	}
	masks2, conf2 := snapshot()
	for kk := range masks {
		if (masks[kk] == nil) != (masks2[kk] == nil) || masks[kk] != nil && !slices.Equal(masks[kk].Data, masks2[kk].Data) {
			t.Errorf("slice %d of the preview differs after the click was taken back", kk)
		}
	}
	if !slices.EqualFunc(conf, conf2, func(a, b SliceConfidence) bool {
		return a.Anchor == b.Anchor && a.Doubtful == b.Doubtful && a.Reason == b.Reason &&
			(a.Confidence == b.Confidence || math.IsNaN(a.Confidence) && math.IsNaN(b.Confidence))
	}) {
		t.Error("the confidence strip differs after the click was taken back")
	}
	if info, ok := s.Preview(); !ok || info.Name != pending.Name || info.Voxels != pending.Voxels {
		t.Fatalf("preview %+v, %v after the click was taken back; want %+v", info, ok, pending)
	}
	if name, ok := s.Undo(); !ok || name != pending.Name {
		t.Fatalf("Undo with %q pending: %q, %v", pending.Name, name, ok)
	}
	if _, ok := s.Preview(); ok || !slices.Equal(labelsOf(s), before) {
		t.Error("Undo left the preview, or changed the labels")
	}
	// Then the accepted edits, newest first.
	if name, ok := s.Undo(); !ok || name != accepted.Name || slices.Equal(labelsOf(s), before) {
		t.Errorf("Undo with nothing pending: %q, %v", name, ok)
	}
}

// A negative click only takes away from the slice as it was just before
// it. On patient A's left kidney, the propagation's last slice holds a
// 26-pixel pole; a negative click at its centre, asked of SAM with the
// mask's box widened around it, grew it to 32 pixels before the rule, and
// a second to 35. Taking the click back gives the slice back as it was.
func TestNegativeClickOnlyTakesAwayPatientA(t *testing.T) {
	v, ref := realdata.PatientA(t, realData)
	s := New(Options{Models: testModels(t), ClickDelay: -1, AutosaveDir: t.TempDir()})
	defer s.Close()
	if err := s.SetVolume(v, "patient A"); err != nil {
		t.Fatal(err)
	}
	const kidney = 3
	slice, _, a, b := organBox(t, ref, kidney)
	job, err := s.BoxPrompt(viewer.Axial, slice, a, b, kidney)
	acceptJob(t, s, job, err)
	job, err = s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: slice, Label: kidney})
	acceptJob(t, s, job, err)
	sl, _ := section.NewSlicer(ref.Grid, section.Axial)
	vs := viewer.NewSlicer(ref.Grid, viewer.Axial)
	accepted := &volume.Labels{Grid: ref.Grid, Data: labelsOf(s)}
	k, m := -1, (*section.Mask)(nil)
	for kk := 0; kk < sl.Slices && k < 0; kk++ {
		if mk, _ := sl.Mask(accepted, kk, kidney); mk.Area() > 0 {
			k, m = kk, mk
		}
	}
	first := m
	for n := 1; n <= 2 && m.Area() > 0; n++ {
		deepest, _ := section.Deepest(m, 1, 1)
		job, err := s.Click(viewer.Axial, viewSlice(vs, sl, k), sl.Voxel(k, deepest/sl.Cols, deepest%sl.Cols), false, kidney)
		waitPreview(t, s, job, err)
		now := previewSlice(t, s, sl, k, kidney)
		t.Logf("slice %d: %d px, after negative click %d %d px", k+1, m.Area(), n, now.Area())
		for i, on := range now.Data {
			if on && !m.Data[i] {
				t.Fatalf("negative click %d added pixel (%d, %d) to slice %d", n, i/sl.Cols, i%sl.Cols, k+1)
			}
		}
		if now.Area() >= m.Area() {
			t.Errorf("negative click %d at the centre of %d px left %d", n, m.Area(), now.Area())
		}
		m = now
	}
	for range 2 {
		job, err := s.RemoveLastClick(kidney)
		if err != nil {
			t.Fatal(err)
		}
		if job != nil {
			if err := job.Wait(); err != nil {
				t.Fatal(err)
			}
		}
	}
	back, _ := sl.Mask(&volume.Labels{Grid: ref.Grid, Data: labelsOf(s)}, k, kidney)
	if p := previewSlice(t, s, sl, k, kidney); p != nil {
		back = p
	}
	if !slices.Equal(back.Data, first.Data) {
		t.Errorf("after taking both clicks back slice %d holds %d px, not its %d", k+1, back.Area(), first.Area())
	}
}
