package app

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/settings"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// With EncodeAhead, opening a scan encodes every axial slice in the
// background once: every segment is seen in the encoder's default window,
// so choosing another segment (the liver, whose label value once had a
// window of its own) encodes nothing more. A segment whose name the
// settings give a window of its own is encoded again in it, once.
func TestEncodeAhead(t *testing.T) {
	testModels(t) // skips without the runtime and weights
	for _, withSetting := range []bool{false, true} {
		t.Run(fmt.Sprint("liver window setting ", withSetting), func(t *testing.T) {
			var st settings.Settings
			if withSetting {
				st.SAMWindows = map[string]models.Window{"Liver": {Level: 30, Width: 150}}
			}
			m := NewModels(ModelOptions{Dirs: []string{repoModels}, Settings: st,
				SAM: sam.Options{DiskCache: filepath.Join(t.TempDir(), "emb")}})
			t.Cleanup(func() { m.Close() })
			s := New(Options{AutosaveDir: t.TempDir(), Models: m, EncodeAhead: true})
			t.Cleanup(s.Close)
			g := volume.Grid{Dims: [3]int{40, 32, 2}, Affine: volume.Identity()}
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
			sm := m.LoadedSAM()
			if st := sm.Stats(); st.Encoded != 2 {
				t.Errorf("%d slices encoded, want the 2 of the scan", st.Encoded)
			}
			sl, _ := section.NewSlicer(g, section.Axial)
			for k := 0; k < 2; k++ {
				if ok, err := sm.SliceCached(v, sl, k, sm.DefaultWindow()); err != nil || !ok {
					t.Errorf("slice %d not in the cache (%v)", k, err)
				}
			}
			if name := s.SegmentOf(5).Name; name != "liver" {
				t.Fatalf("label 5 is %q in the default colour table, want liver", name)
			}
			s.SetActiveLabel(5)
			want := int64(2)
			if withSetting {
				want = 4
				job = waitEncodeJob(t, s, job)
				if err := job.Wait(); err != nil {
					t.Fatal(err)
				}
			} else {
				time.Sleep(100 * time.Millisecond)
			}
			if st := sm.Stats(); st.Encoded != want {
				t.Errorf("%d encodes after choosing the liver, want %d", st.Encoded, want)
			}
			// Another segment without a window of its own, then the liver
			// again: everything is cached.
			s.SetActiveLabel(1)
			s.SetActiveLabel(5)
			time.Sleep(100 * time.Millisecond)
			if j := s.EncodeAheadJob(); j != nil {
				j.Wait()
			}
			if st := sm.Stats(); st.Encoded != want {
				t.Errorf("%d encodes after choosing the spleen and the liver again, want %d", st.Encoded, want)
			}
		})
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
