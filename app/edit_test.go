package app

import (
	"slices"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

func TestUndoRedo(t *testing.T) {
	s := newTestSession(t, Options{})
	empty := labelsOf(s)

	if n, err := s.Paint("Paint liver", []int{1, 2, 3, 2}, 5); err != nil || n != 3 {
		t.Fatalf("Paint = %d, %v; want 3 voxels changed (one index repeated)", n, err)
	}
	afterFirst := labelsOf(s)
	if n, _ := s.Paint("Paint spleen", []int{3, 4}, 1); n != 2 {
		t.Fatalf("second Paint changed %d voxels, want 2", n)
	}
	afterSecond := labelsOf(s)
	if n, _ := s.Paint("Paint again", []int{3, 4}, 1); n != 0 {
		t.Errorf("painting voxels with their own value changed %d", n)
	}
	if u, r := s.UndoRedoNames(); u != "Paint spleen" || r != "" {
		t.Errorf("UndoRedoNames() = %q, %q", u, r)
	}

	steps := []struct {
		op       func() (string, bool)
		wantName string
		wantOK   bool
		want     []uint16
	}{
		{s.Undo, "Paint spleen", true, afterFirst},
		{s.Undo, "Paint liver", true, empty},
		{s.Undo, "", false, empty},
		{s.Redo, "Paint liver", true, afterFirst},
		{s.Redo, "Paint spleen", true, afterSecond},
		{s.Redo, "", false, afterSecond},
		{s.Undo, "Paint spleen", true, afterFirst},
	}
	for n, st := range steps {
		name, ok := st.op()
		if name != st.wantName || ok != st.wantOK {
			t.Errorf("step %d: got %q, %v; want %q, %v", n, name, ok, st.wantName, st.wantOK)
		}
		if !slices.Equal(labelsOf(s), st.want) {
			t.Errorf("step %d: labels differ from the expected state", n)
		}
	}
	// A new edit after an undo drops what could be redone.
	s.Paint("Erase", []int{1}, 0)
	if _, ok := s.Redo(); ok {
		t.Error("Redo succeeded after a new edit")
	}
}

func TestPaintRejectsIndicesOutsideTheGrid(t *testing.T) {
	s := newTestSession(t, Options{})
	before := labelsOf(s)
	for _, idx := range [][]int{{-1}, {0, 12 * 10 * 8}} {
		if _, err := s.Paint("bad", idx, 3); err == nil {
			t.Errorf("Paint(%v) succeeded", idx)
		}
	}
	if !slices.Equal(labelsOf(s), before) {
		t.Error("a rejected Paint changed labels")
	}
	if u, _ := s.UndoRedoNames(); u != "" {
		t.Errorf("a rejected Paint left an undo step %q", u)
	}
}

func TestReplaceLabelsStoresOnlyTheDifference(t *testing.T) {
	s := newTestSession(t, Options{})
	v, _ := s.Volume()
	next := volume.NewLabels(v.Grid)
	for _, i := range []int{10, 11, 500} {
		next.Data[i] = 6
	}
	n, err := s.ReplaceLabels("Segment", next)
	if err != nil || n != 3 {
		t.Fatalf("ReplaceLabels = %d, %v; want 3", n, err)
	}
	next.Data[0] = 9 // the session must have copied, not kept, next
	if got := labelsOf(s); got[0] != 0 || got[500] != 6 {
		t.Errorf("labels after ReplaceLabels: [0] = %d, [500] = %d", got[0], got[500])
	}
	if e := s.history.undo[0]; len(e.idx) != 3 {
		t.Errorf("undo step holds %d voxels, want the 3 that changed", len(e.idx))
	}

	other := volume.NewLabels(volume.Grid{Dims: [3]int{12, 10, 9}, Affine: v.Affine})
	if _, err := s.ReplaceLabels("wrong grid", other); err == nil {
		t.Error("ReplaceLabels accepted labels on another grid")
	}
}

func TestUndoBudgetDropsTheOldestSteps(t *testing.T) {
	// Each one-voxel step costs editOverhead+8 bytes: room for three.
	s := newTestSession(t, Options{UndoBudget: 3 * (editOverhead + 8)})
	for i := 0; i < 5; i++ {
		s.Paint("step", []int{i}, uint16(i+1))
	}
	undone := 0
	for {
		if _, ok := s.Undo(); !ok {
			break
		}
		undone++
	}
	if undone != 3 {
		t.Errorf("%d steps could be undone, want 3 within the budget", undone)
	}
	got := labelsOf(s)
	if want := []uint16{1, 2, 0, 0, 0}; !slices.Equal(got[:5], want) {
		t.Errorf("after undoing everything kept: %v, want %v", got[:5], want)
	}
}

func BenchmarkPaintSlice(b *testing.B) {
	s := New(Options{})
	defer s.Close()
	g := volume.Grid{Dims: [3]int{512, 512, 100}, Affine: volume.Identity()}
	s.SetVolume(&volume.Volume{Grid: g, Data: make([]float32, g.Len())}, "")
	idx := make([]int, 512*512)
	for i := range idx {
		idx[i] = 50*512*512 + i
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		s.Paint("slice", idx, uint16(n%2+1))
	}
}
