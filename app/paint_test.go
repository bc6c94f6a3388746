package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// countsOf counts label values the slow way, to check the session's
// running counts.
func countsOf(s *Session) map[uint16]int {
	out := map[uint16]int{}
	for _, v := range labelsOf(s) {
		if v != 0 {
			out[v]++
		}
	}
	return out
}

func checkCounts(t *testing.T, s *Session, when string) {
	t.Helper()
	want := countsOf(s)
	got := map[uint16]int{}
	for _, l := range s.PresentLabels() {
		got[l.Value] = l.Voxels
	}
	if len(got) != len(want) {
		t.Errorf("%s: PresentLabels %v, want %v", when, got, want)
		return
	}
	for v, n := range want {
		if got[v] != n {
			t.Errorf("%s: label %d has %d voxels by the session's count, %d in fact", when, v, got[v], n)
		}
	}
}

func TestStrokeIsOneUndoStep(t *testing.T) {
	s := newTestSession(t, Options{})
	st, err := s.BeginStroke("Paint liver", PaintOptions{Value: 5}, &Provenance{Tool: "brush"})
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range [][]int{{1, 2, 3}, {3, 4}, {4, 5, 900}} {
		if _, err := st.Paint(idx); err != nil {
			t.Fatal(err)
		}
	}
	// Painting happens in place: the labels show the stroke before it ends.
	if got := countsOf(s)[5]; got != 6 {
		t.Errorf("%d voxels painted during the stroke, want 6", got)
	}
	if n, err := st.End(); n != 6 || err != nil {
		t.Errorf("End = %d, %v; want 6 voxels", n, err)
	}
	if u, _ := s.UndoRedoNames(); u != "Paint liver" {
		t.Errorf("undo step %q", u)
	}
	after := labelsOf(s)
	checkCounts(t, s, "after the stroke")
	s.Undo()
	if got := countsOf(s); len(got) != 0 {
		t.Errorf("one undo left %v", got)
	}
	checkCounts(t, s, "after undo")
	s.Redo()
	if !slices.Equal(labelsOf(s), after) {
		t.Error("redo did not restore the stroke")
	}
	log := s.ProvenanceLog()
	if len(log) != 1 || log[0].What.Tool != "brush" || log[0].What.Options["mode"] != "empty-only" || log[0].Voxels != 6 {
		t.Errorf("provenance %+v", log)
	}
	if _, err := st.Paint([]int{7}); err == nil {
		t.Error("Paint after End succeeded")
	}
}

func TestStrokeOutOfGridChangesNothing(t *testing.T) {
	s := newTestSession(t, Options{})
	st, _ := s.BeginStroke("Paint", PaintOptions{Value: 5}, nil)
	if _, err := st.Paint([]int{1, -1}); err == nil {
		t.Error("a negative index was accepted")
	}
	if _, err := st.Paint([]int{1, 1 << 30}); err == nil {
		t.Error("an index past the grid was accepted")
	}
	if n, _ := st.End(); n != 0 {
		t.Errorf("%d voxels changed", n)
	}
	if u, _ := s.UndoRedoNames(); u != "" {
		t.Errorf("an empty stroke left undo step %q", u)
	}
}

func TestStrokeCancelRestores(t *testing.T) {
	s := newTestSession(t, Options{})
	s.Paint("Spleen", []int{2}, 1)
	before := labelsOf(s)
	s.SetOverwriteOthers(true)
	st, _ := s.BeginStroke("Paint", PaintOptions{Value: 5}, nil)
	st.Paint([]int{1, 2, 3})
	st.Cancel()
	if !slices.Equal(labelsOf(s), before) {
		t.Error("cancel left painted voxels")
	}
	if u, _ := s.UndoRedoNames(); u != "Spleen" {
		t.Errorf("undo step %q after a cancelled stroke", u)
	}
	checkCounts(t, s, "after cancel")
}

// The masking rules: locked segments are never written; other segments
// only with overwrite on; the eraser erases the chosen segment only,
// or any unlocked one with overwrite on; the HU range keeps voxels out.
func TestStrokeMasking(t *testing.T) {
	const spleen, kidney, liver = 1, 2, 5
	v := testVolume(0) // voxel i holds HU i%200 - 100
	tests := []struct {
		name      string
		overwrite bool
		opts      PaintOptions
		want      []uint16 // voxels 0..5 after a stroke over them
	}{
		{"paint empty only", false, PaintOptions{Value: liver}, []uint16{liver, spleen, kidney, liver, liver, liver}},
		{"paint overwrite", true, PaintOptions{Value: liver}, []uint16{liver, liver, kidney, liver, liver, liver}},
		{"erase chosen only", false, PaintOptions{Value: spleen, Erase: true}, []uint16{0, 0, kidney, liver, 0, 0}},
		{"erase any unlocked", true, PaintOptions{Value: spleen, Erase: true}, []uint16{0, 0, kidney, 0, 0, 0}},
		{"threshold", true, PaintOptions{Value: liver, HU: &HURange{Min: -99, Max: -96}}, []uint16{0, liver, kidney, liver, liver, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSession(t, Options{})
			// 0 empty, 1 spleen, 2 kidney (locked), 3 liver, 4 and 5 empty.
			s.Paint("setup", []int{1}, spleen)
			s.Paint("setup", []int{2}, kidney)
			s.Paint("setup", []int{3}, liver)
			s.SetLocked(kidney, true)
			s.SetOverwriteOthers(tt.overwrite)
			st, err := s.BeginStroke("stroke", tt.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Paint([]int{0, 1, 2, 3, 4, 5}); err != nil {
				t.Fatal(err)
			}
			st.End()
			if got := labelsOf(s)[:6]; !slices.Equal(got, tt.want) {
				t.Errorf("voxels %v, want %v (HU %v)", got, tt.want, v.Data[:6])
			}
			checkCounts(t, s, tt.name)
		})
	}
}

func TestLockedSegmentRefusesPaint(t *testing.T) {
	s := newTestSession(t, Options{})
	s.Paint("setup", []int{1}, 1)
	s.SetLocked(1, true)
	for _, opts := range []PaintOptions{{Value: 1}, {Value: 1, Erase: true}} {
		if _, err := s.BeginStroke("stroke", opts, nil); !errors.Is(err, ErrLocked) {
			t.Errorf("BeginStroke(%+v) on a locked segment: %v, want ErrLocked", opts, err)
		}
	}
	if _, err := s.DeleteSegment(1); !errors.Is(err, ErrLocked) {
		t.Errorf("DeleteSegment of a locked segment: %v", err)
	}
	if _, err := s.RenumberSegment(1, 60); !errors.Is(err, ErrLocked) {
		t.Errorf("RenumberSegment of a locked segment: %v", err)
	}
	if _, err := s.BeginStroke("stroke", PaintOptions{Value: 5, HU: &HURange{Min: 3, Max: 2}}, nil); err == nil {
		t.Error("an empty HU range was accepted")
	}
	if _, err := s.BeginStroke("stroke", PaintOptions{}, nil); err == nil {
		t.Error("painting the background was accepted")
	}
}

func TestDamageSince(t *testing.T) {
	s := newTestSession(t, Options{})
	v0 := s.Version()
	st, _ := s.BeginStroke("Paint", PaintOptions{Value: 5}, nil)
	g := testVolume(0).Grid
	st.Paint([]int{g.Index(2, 3, 4), g.Index(5, 1, 4)})
	box, ok := s.DamageSince(v0)
	want := VoxelBox{Min: [3]int{2, 1, 4}, Max: [3]int{6, 4, 5}}
	if !ok || box != want {
		t.Errorf("DamageSince = %v, %v; want %v", box, ok, want)
	}
	v1 := s.Version()
	st.Paint([]int{g.Index(2, 3, 4)}) // no change: no damage, no version
	st.Paint([]int{g.Index(0, 0, 7)})
	if box, ok := s.DamageSince(v1); !ok || box != (VoxelBox{Min: [3]int{0, 0, 7}, Max: [3]int{1, 1, 8}}) {
		t.Errorf("DamageSince(v1) = %v, %v", box, ok)
	}
	if box, ok := s.DamageSince(v0); !ok || box != (VoxelBox{Min: [3]int{0, 0, 4}, Max: [3]int{6, 4, 8}}) {
		t.Errorf("DamageSince(v0) = %v, %v: want the union", box, ok)
	}
	v2 := s.Version()
	st.End() // changes lists, not voxels
	if box, ok := s.DamageSince(v2); !ok || !box.Empty() {
		t.Errorf("after End: DamageSince = %v, %v; want an empty box", box, ok)
	}
	s.SetWindow(s.Window()) // no change at all
	s.SetOpacity(0.2)
	if _, ok := s.DamageSince(v2); ok {
		t.Error("an opacity change was reported as a label edit of known extent")
	}
	if _, ok := s.DamageSince(s.Version() + 1); ok {
		t.Error("a version from the future was answered")
	}
	v3 := s.Version()
	for range damageEntries + 1 {
		s.changed(ChangeJobs)
	}
	if _, ok := s.DamageSince(v3); ok {
		t.Error("a version older than the log was answered")
	}
}

// A job replacing the labels while a stroke goes on: the stroke's voxels
// so far become their own undo step before the replacement (undoing the
// load gives them back), and the stroke's next event is refused with a
// message saying what ended it. Nothing painted is lost.
func TestLoadLabelsDuringStroke(t *testing.T) {
	gate := make(chan struct{})
	s := newTestSession(t, Options{LoadLabels: func(path string, ref volume.Grid) (*volume.Labels, []string, error) {
		<-gate
		l := volume.NewLabels(ref)
		l.Data[100] = 7
		return l, nil, nil
	}})
	st, err := s.BeginStroke("Paint liver", PaintOptions{Value: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Paint([]int{1, 2, 3})
	job := s.RunJob("Load", func(ctx context.Context, p Progress) error {
		_, err := s.LoadLabels("other.nii.gz")
		return err
	})
	st.Paint([]int{4}) // before the load finishes
	close(gate)
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	_, err = st.Paint([]int{5})
	if !errors.Is(err, ErrStrokeEnded) {
		t.Fatalf("Paint after the labels were replaced: %v, want ErrStrokeEnded", err)
	}
	t.Logf("message: %v", err)
	if _, err := st.End(); !errors.Is(err, ErrStrokeEnded) {
		t.Errorf("End after the labels were replaced: %v", err)
	}
	if got := labelsOf(s)[5]; got != 0 {
		t.Errorf("the refused event painted voxel 5 (%d)", got)
	}
	if u, _ := s.UndoRedoNames(); u != "Load other.nii.gz" {
		t.Fatalf("newest step %q, want the load", u)
	}
	s.Undo()
	got := labelsOf(s)
	for _, i := range []int{1, 2, 3, 4} {
		if got[i] != 5 {
			t.Errorf("after undoing the load voxel %d is %d, want the stroke's 5", i, got[i])
		}
	}
	if u, _ := s.UndoRedoNames(); u != "Paint liver" {
		t.Errorf("step under the load %q, want the stroke", u)
	}
	checkCounts(t, s, "after undoing the load")
}

// A job opening another scan while a stroke goes on: the stroke's voxels
// are autosaved with the old scan, and its next event is refused: it must
// not paint into the new scan.
func TestOpenDuringStroke(t *testing.T) {
	gate := make(chan struct{})
	dir := t.TempDir()
	s := newTestSession(t, Options{AutosaveDir: dir, Open: func(ctx context.Context, path string, _ volume.OpenOptions) (*volume.Volume, error) {
		<-gate
		return testVolume(3), nil
	}})
	st, _ := s.BeginStroke("Paint liver", PaintOptions{Value: 5}, nil)
	st.Paint([]int{1, 2, 3})
	job := s.Open(filepath.Join(dir, "next.nii.gz"), volume.OpenOptions{})
	st.Paint([]int{4})
	close(gate)
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Paint([]int{5}); !errors.Is(err, ErrStrokeEnded) {
		t.Errorf("Paint on the old scan after the new one opened: %v, want ErrStrokeEnded", err)
	}
	if n := len(countsOf(s)); n != 0 {
		t.Errorf("the new scan has labels %v", countsOf(s))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+AutosaveSuffix))
	if len(files) != 1 {
		t.Fatalf("autosaves %v, want the old scan's", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, data, err := readAutosave(f, testVolume(0).Len())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2, 3, 4} {
		if data[i] != 5 {
			t.Errorf("autosaved voxel %d is %d, want the stroke's 5", i, data[i])
		}
	}
}

// While the labels are being replaced (the old scan's autosave being
// written before a new scan goes in), painting is refused with a message.
func TestPaintRefusedWhileReplacing(t *testing.T) {
	s := newTestSession(t, Options{})
	s.mu.Lock()
	s.replacing = "opening next.nii.gz"
	s.mu.Unlock()
	if _, err := s.BeginStroke("Paint", PaintOptions{Value: 5}, nil); !errors.Is(err, ErrReplacing) {
		t.Errorf("BeginStroke: %v, want ErrReplacing", err)
	}
	if _, err := s.Paint("Paint", []int{1}, 5); !errors.Is(err, ErrReplacing) {
		t.Errorf("Paint: %v, want ErrReplacing", err)
	}
}

// Another edit during a stroke (accepting a preview, an undo) ends the
// stroke first, so the undo steps stay in the order the voxels changed.
func TestUndoDuringStroke(t *testing.T) {
	s := newTestSession(t, Options{})
	st, _ := s.BeginStroke("Paint liver", PaintOptions{Value: 5}, nil)
	st.Paint([]int{1, 2})
	if name, ok := s.Undo(); !ok || name != "Paint liver" {
		t.Errorf("Undo during a stroke undid %q, %v; want the stroke", name, ok)
	}
	if len(countsOf(s)) != 0 {
		t.Error("the stroke's voxels stayed after undo")
	}
	if _, err := st.Paint([]int{3}); !errors.Is(err, ErrStrokeEnded) {
		t.Errorf("Paint after undo: %v", err)
	}
	checkCounts(t, s, "after undo during a stroke")
}
