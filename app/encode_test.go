package app

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/volume"
)

// With EncodeAhead, opening a scan encodes every axial slice in the
// background, once per SAM window; choosing another label with another
// window encodes them again in that window, and choosing it again does
// nothing.
func TestEncodeAhead(t *testing.T) {
	testModels(t) // skips without the runtime and weights
	models := NewModels(ModelOptions{Dirs: []string{repoModels}, SAM: sam.Options{DiskCache: filepath.Join(t.TempDir(), "emb")}})
	t.Cleanup(func() { models.Close() })
	s := New(Options{AutosaveDir: t.TempDir(), Models: models, EncodeAhead: true})
	t.Cleanup(s.Close)
	g := volume.Grid{Dims: [3]int{40, 32, 4}, Affine: volume.Identity()}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		v.Data[i] = float32(i%97) - 20
	}
	if err := s.SetVolume(v, ""); err != nil {
		t.Fatal(err)
	}
	job := waitEncodeJob(t, s, nil)
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	sm := models.LoadedSAM()
	if st := sm.Stats(); st.Encoded != 4 {
		t.Errorf("%d slices encoded, want the 4 of the scan", st.Encoded)
	}
	sl, _ := section.NewSlicer(g, section.Axial)
	for k := 0; k < 4; k++ {
		if ok, err := sm.SliceCached(v, sl, k, sm.Window(0)); err != nil || !ok {
			t.Errorf("slice %d not in the cache (%v)", k, err)
		}
	}
	// The liver has its own window: the slices are encoded again in it.
	s.SetActiveLabel(5)
	job2 := waitEncodeJob(t, s, job)
	if err := job2.Wait(); err != nil {
		t.Fatal(err)
	}
	if st := sm.Stats(); st.Encoded != 8 {
		t.Errorf("%d encodes after choosing the liver, want 8", st.Encoded)
	}
	s.SetActiveLabel(5)
	time.Sleep(50 * time.Millisecond)
	if j := s.EncodeAheadJob(); j != job2 {
		t.Error("choosing the same label again started another encoding")
	}
}

// waitEncodeJob waits for the session's background encoding job to be
// another than old.
func waitEncodeJob(t *testing.T, s *Session, old *Job) *Job {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if j := s.EncodeAheadJob(); j != nil && j != old {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no background encoding started")
	return nil
}

func TestNearestUndone(t *testing.T) {
	s := newTestSession(t, Options{})
	v, _ := s.Volume()
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cursorK int
		done    []bool
		want    int
	}{
		{3, []bool{false, false, false, false, false, false, false, false}, 3},
		{3, []bool{false, false, false, true, false, false, false, false}, 2},
		{3, []bool{false, false, true, true, true, false, false, false}, 1},
		{0, []bool{true, true, true, true, true, true, true, false}, 7},
	} {
		c := s.Cursor()
		vx := sl.Voxel(tc.cursorK, 0, 0)
		c[2] = vx[2]
		s.SetCursor(c)
		if got := s.nearestUndone(v, sl, tc.done); got != tc.want {
			t.Errorf("cursor on slice %d, done %v: %d, want %d", tc.cursorK, tc.done, got, tc.want)
		}
	}
}
