package app

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// waitPreview waits for job and returns the preview it left pending.
func waitPreview(t testing.TB, s *Session, job *Job, err error) PreviewInfo {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	info, ok := s.Preview()
	if !ok {
		t.Fatalf("%s left no preview", job.Name())
	}
	return info
}

// acceptJob waits for job and accepts its preview.
func acceptJob(t testing.TB, s *Session, job *Job, err error) PreviewInfo {
	t.Helper()
	info := waitPreview(t, s, job, err)
	if _, err := s.AcceptPreview(); err != nil {
		t.Fatal(err)
	}
	return info
}

// The central interaction on patient B: a box on one slice, accepted, then
// propagated through the scan, accepted as one undo step, undone, redone
// and exported with its provenance.
func TestPropagateFromBoxPatientB(t *testing.T) {
	s, ref := newPatientBSession(t, Options{})
	slice, k, a, b := liverBox(t, ref)
	job, err := s.BoxPrompt(viewer.Axial, slice, a, b, liver)
	acceptJob(t, s, job, err)
	box := slices.Clone(labelsOf(s))

	var streamed int
	s.opts.OnChange = func(c Change) {
		if c&ChangePreview != 0 {
			streamed++
		}
	}
	job, err = s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: slice, Label: liver})
	info := acceptJob(t, s, job, err)
	s.opts.OnChange = nil
	if streamed < 10 {
		t.Errorf("the preview changed %d times; slices should stream into it one by one", streamed)
	}
	got := labelsOf(s)
	d := dice(got, ref.Data, liver, nil)
	t.Logf("box on slice %d (file slice %d) propagated: 3D Dice %.3f against the reference", slice+1, k, d)
	if d < 0.85 {
		t.Errorf("propagated liver Dice %.3f < 0.85", d)
	}
	conf := s.Confidence(viewer.Axial, liver)
	decided := 0
	for _, c := range conf {
		if !math.IsNaN(c.Confidence) {
			decided++
			if c.Confidence < 0 || c.Confidence > 1 {
				t.Errorf("slice %d: confidence %v outside [0, 1]", c.Slice, c.Confidence)
			}
		}
	}
	if decided < 15 || !conf[slice].Anchor {
		t.Errorf("confidence known on %d slices, anchor %v; want most of the 20 slices and the anchor marked", decided, conf[slice].Anchor)
	}

	if name, ok := s.Undo(); !ok || name != info.Name {
		t.Fatalf("Undo = %q, %v; want the propagation %q", name, ok, info.Name)
	}
	if !slices.Equal(labelsOf(s), box) {
		t.Fatal("undoing the propagation did not bring back the box's labels alone")
	}
	if _, ok := s.Redo(); !ok || !slices.Equal(labelsOf(s), got) {
		t.Fatal("redo did not bring the propagation back")
	}

	out := filepath.Join(t.TempDir(), "liver.nii.gz")
	if err := s.ExportLabels(out); err != nil {
		t.Fatal(err)
	}
	back, _, err := volume.LoadLabels(out, ref.Grid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Data, got) {
		t.Error("the exported labels differ from the session's")
	}
	log, err := ReadProvenance(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].What.Tool != "sam-box" || log[1].What.Tool != "propagate" {
		t.Fatalf("provenance %+v: want the box, then the propagation", log)
	}
	e := log[1].What.Engine
	if e == nil || e.Engine != "sam" || e.Provider == "" || len(e.Models) != 2 || e.Models[0].SHA256 == "" ||
		!slices.Equal(log[1].What.Prompts.AnchorSlices, []int{k}) {
		t.Errorf("propagation provenance %+v: want engine sam, its provider, both models with checksums, anchor %d", e, k)
	}
}

// Correcting a slice and propagating again re-runs only the span between
// it and the neighbouring anchors; the other slices keep what was accepted.
func TestPropagateAgainRerunsOnlyTheSpan(t *testing.T) {
	f := newLiverFixture(t, Options{})
	s, ref, sl, vs, before, anchorK := f.s, f.ref, f.sl, f.vs, f.before, f.anchors
	if d := dice(before, ref.Data, liver, nil); d < 0.85 {
		t.Fatalf("two-anchor propagation Dice %.3f < 0.85", d)
	}

	// "Correct" slice 9 with the reference, then propagate from it.
	k := 9
	m, _ := sl.Mask(ref, k, liver)
	pred, _ := sl.Mask(&volume.Labels{Grid: ref.Grid, Data: before}, k, liver)
	var idx []int
	var clear []int
	for i := range m.Data {
		vx := sl.Voxel(k, i/sl.Cols, i%sl.Cols)
		j := ref.Index(vx[0], vx[1], vx[2])
		if m.Data[i] {
			idx = append(idx, j)
		} else if pred.Data[i] {
			clear = append(clear, j)
		}
	}
	if _, err := s.Paint("Paint", idx, liver); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paint("Erase", clear, 0); err != nil {
		t.Fatal(err)
	}
	job, err := s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: viewSlice(vs, sl, k), Label: liver})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	var scope []uint32
	s.ReadPreview(func(*Proposal) { scope = slices.Clone(s.preview.scope) })
	for _, i := range scope {
		kk := int(i) / (ref.Dims[0] * ref.Dims[1])
		if kk <= anchorK[0] || kk >= anchorK[1] {
			if kk != anchorK[0] && kk != anchorK[1] {
				t.Fatalf("re-run decided slice %d, outside the span %d..%d of the corrected slice's neighbours", kk, anchorK[0], anchorK[1])
			}
		}
	}
	if _, err := s.AcceptPreview(); err != nil {
		t.Fatal(err)
	}
	after := labelsOf(s)
	for i := range after {
		kk := i / (ref.Dims[0] * ref.Dims[1])
		if (kk < anchorK[0] || kk > anchorK[1]) && after[i] != before[i] {
			t.Fatalf("voxel %d on slice %d outside the re-run span changed", i, kk)
		}
	}
}

// Cancelling a propagation, or rejecting its preview, leaves the labels as
// they were.
func TestPropagateCancelKeepsLabels(t *testing.T) {
	s, ref := newPatientBSession(t, Options{})
	if _, err := s.ReplaceLabels("Load", ref); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(labelsOf(s))
	slice, _, _, _ := liverBox(t, ref)
	started := make(chan struct{}, 1)
	s.opts.OnChange = func(c Change) {
		if _, ok := s.Preview(); ok && c&ChangePreview != 0 {
			select {
			case started <- struct{}{}:
			default:
			}
		}
	}
	job, err := s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: slice, Label: liver})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	job.Cancel()
	if err := job.Wait(); !Canceled(err) {
		t.Fatalf("cancelled propagation ended with %v", err)
	}
	if _, ok := s.Preview(); ok {
		t.Error("a cancelled propagation left its preview")
	}
	if !slices.Equal(labelsOf(s), want) {
		t.Error("a cancelled propagation changed the labels")
	}

	job, err = s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: slice, Label: liver})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if !s.RejectPreview() {
		t.Fatal("no preview to reject")
	}
	if !slices.Equal(labelsOf(s), want) {
		t.Error("a rejected propagation changed the labels")
	}
	if _, err := s.Propagate(PropagateRequest{Plane: viewer.Coronal, Slice: 3, Label: liver}); err == nil {
		t.Error("propagating on a coronal slice was accepted")
	}
	if _, err := s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: slice, Label: 77}); err == nil {
		t.Error("propagating a label absent from the slice was accepted")
	}
}

// Propagation can start from the U-Net's mask: its largest slice is the
// anchor and its probabilities guard the chains.
func TestPropagateFromModelPatientB(t *testing.T) {
	s, ref := newPatientBSession(t, Options{})
	job, err := s.PropagateFromModel(liver, "")
	info := acceptJob(t, s, job, err)
	d := dice(labelsOf(s), ref.Data, liver, nil)
	t.Logf("%s: liver Dice %.3f", info.Name, d)
	if d < 0.85 {
		t.Errorf("liver Dice %.3f < 0.85", d)
	}
	log := s.ProvenanceLog()
	if len(log) != 1 || log[0].What.Options["prior"] == nil || len(log[0].What.Prompts.AnchorSlices) != 1 {
		t.Errorf("provenance %+v: want one propagation with the U-Net prior and its anchor", log)
	}
	// The default U-Net knows the spleen too, by its name.
	job, err = s.PropagateFromModel(1, "")
	acceptJob(t, s, job, err)
	if d := dice(labelsOf(s), ref.Data, 1, nil); d < 0.80 {
		t.Errorf("spleen from the default U-Net: Dice %.3f < 0.80", d)
	} else {
		t.Logf("spleen Dice %.3f", d)
	}
	// It knows no aorta (by name: the value plays no part): the job says so.
	job, err = s.PropagateFromModel(52, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err == nil || !strings.Contains(err.Error(), `no structure named "aorta"`) {
		t.Errorf("propagating the aorta from the default U-Net: %v", err)
	}
}

// liverFixture is patient B with its reference liver drawn on axial slices
// 5 and 14, as a user would, propagated from both and accepted: where the
// corrections' tests start.
type liverFixture struct {
	s        *Session
	ref      *volume.Labels
	sl       *section.Slicer
	vs       viewer.Slicer
	anchors  []int       // the axial slices drawn
	accepted PreviewInfo // the accepted propagation
	before   []uint16    // the labels after it
}

func newLiverFixture(t *testing.T, opts Options) liverFixture {
	t.Helper()
	s, ref := newPatientBSession(t, opts)
	f := liverFixture{s: s, ref: ref, vs: viewer.NewSlicer(ref.Grid, viewer.Axial), anchors: []int{5, 14}}
	var err error
	if f.sl, err = section.NewSlicer(ref.Grid, section.Axial); err != nil {
		t.Fatal(err)
	}
	for _, k := range f.anchors {
		m, err := f.sl.Mask(ref, k, liver)
		if err != nil {
			t.Fatal(err)
		}
		var idx []int
		for i, on := range m.Data {
			if on {
				vx := f.sl.Voxel(k, i/f.sl.Cols, i%f.sl.Cols)
				idx = append(idx, ref.Index(vx[0], vx[1], vx[2]))
			}
		}
		if _, err := s.Paint("Paint", idx, liver); err != nil {
			t.Fatal(err)
		}
	}
	job, err := s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: viewSlice(f.vs, f.sl, f.anchors[0]), Label: liver, AllAnchors: true})
	f.accepted = acceptJob(t, s, job, err)
	f.before = slices.Clone(labelsOf(s))
	return f
}

// click clicks, as the robot annotator would (aClick), on axial slice k
// where the accepted labels differ from the reference, and waits for the
// click's decode; it returns the click.
func (f liverFixture) click(t *testing.T, k int) (voxel [3]int, positive bool) {
	t.Helper()
	pred, _ := f.sl.Mask(&volume.Labels{Grid: f.ref.Grid, Data: labelsOf(f.s)}, k, liver)
	refm, _ := f.sl.Mask(f.ref, k, liver)
	voxel, positive = aClick(f.sl, pred, refm, k)
	job, err := f.s.Click(viewer.Axial, viewSlice(f.vs, f.sl, k), voxel, positive, liver)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	return voxel, positive
}
