package app

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// testVolume returns a small scan whose voxel values encode their index, so
// that two volumes from different seeds differ everywhere.
func testVolume(seed float32) *volume.Volume {
	g := volume.Grid{Dims: [3]int{12, 10, 8}, Affine: volume.Identity()}
	g.Affine[0][0], g.Affine[1][1], g.Affine[2][2] = 0.8, 0.8, 2.5
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		v.Data[i] = float32(i%200) - 100 + seed
	}
	return v
}

func newTestSession(t *testing.T, opts Options) *Session {
	t.Helper()
	if opts.AutosaveDir == "" {
		opts.AutosaveDir = t.TempDir()
	}
	s := New(opts)
	t.Cleanup(s.Close)
	if err := s.SetVolume(testVolume(0), ""); err != nil {
		t.Fatal(err)
	}
	return s
}

func labelsOf(s *Session) []uint16 {
	var out []uint16
	s.Read(func(_ *volume.Volume, l *viewer.Overlay) { out = slices.Clone(l.Labels.Data) })
	return out
}

func TestSetVolumeRejectsBadVolumes(t *testing.T) {
	good := testVolume(0)
	short := testVolume(0)
	short.Data = short.Data[:10]
	zero := testVolume(0)
	zero.Dims[2] = 0
	tests := []struct {
		name string
		v    *volume.Volume
		ok   bool
	}{
		{"good", good, true},
		{"nil", nil, false},
		{"data shorter than grid", short, false},
		{"zero dimension", zero, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			defer s.Close()
			err := s.SetVolume(tt.v, "scan.nii.gz")
			if (err == nil) != tt.ok {
				t.Fatalf("SetVolume: err = %v, want ok = %v", err, tt.ok)
			}
			if got, _ := s.Volume(); (got != nil) != tt.ok {
				t.Errorf("Volume() = %v after SetVolume err = %v", got, err)
			}
		})
	}
}

func TestCursorIsClampedToTheGrid(t *testing.T) {
	s := newTestSession(t, Options{})
	if got, want := s.Cursor(), [3]int{6, 5, 4}; got != want {
		t.Errorf("initial cursor = %v, want the centre %v", got, want)
	}
	tests := []struct {
		in, want [3]int
	}{
		{[3]int{1, 2, 3}, [3]int{1, 2, 3}},
		{[3]int{-5, 2, 3}, [3]int{0, 2, 3}},
		{[3]int{100, 100, 100}, [3]int{11, 9, 7}},
	}
	for _, tt := range tests {
		s.SetCursor(tt.in)
		if got := s.Cursor(); got != tt.want {
			t.Errorf("SetCursor(%v): cursor = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSetWindow(t *testing.T) {
	tests := []struct {
		in, want viewer.Window
	}{
		{viewer.Window{Width: 150, Level: 30}, viewer.Window{Width: 150, Level: 30}},
		{viewer.Window{Width: -20, Level: 30}, viewer.Window{Width: 1, Level: 30}},
		{viewer.Window{Width: 1e9, Level: 0}, viewer.Window{Width: 1 << 16, Level: 0}},
	}
	for _, tt := range tests {
		s := New(Options{})
		s.SetWindow(tt.in)
		if got := s.Window(); got != tt.want {
			t.Errorf("SetWindow(%v): Window() = %v, want %v", tt.in, got, tt.want)
		}
		s.Close()
	}
}

func TestChangesAreNotified(t *testing.T) {
	var mu sync.Mutex
	var got Change
	s := newTestSession(t, Options{OnChange: func(c Change) {
		mu.Lock()
		got |= c
		mu.Unlock()
	}})
	steps := []struct {
		name string
		do   func()
		want Change
	}{
		{"cursor", func() { s.SetCursor([3]int{1, 1, 1}) }, ChangeCursor},
		{"window", func() { s.SetWindow(viewer.Window{Width: 1500, Level: -600}) }, ChangeWindow},
		{"opacity", func() { s.SetOpacity(0.3) }, ChangeOverlay},
		{"hide", func() { s.SetHidden(5, true) }, ChangeOverlay},
		{"paint", func() { s.Paint("Paint", []int{3}, 5) }, ChangeLabels},
		{"undo", func() { s.Undo() }, ChangeLabels},
	}
	for _, st := range steps {
		mu.Lock()
		got = 0
		mu.Unlock()
		st.do()
		mu.Lock()
		if got != st.want {
			t.Errorf("%s: change %b, want %b", st.name, got, st.want)
		}
		mu.Unlock()
	}
}

func TestPresentLabels(t *testing.T) {
	s := newTestSession(t, Options{})
	s.Paint("a", []int{0, 1, 2}, 5)
	s.Paint("b", []int{7}, 1)
	s.SetHidden(1, true)
	got := s.PresentLabels()
	want := []LabelCount{
		{Value: 1, Name: "spleen", Voxels: 1, Hidden: true},
		{Value: 5, Name: "liver", Voxels: 3},
	}
	if !slices.Equal(got, want) {
		t.Errorf("PresentLabels() = %v, want %v", got, want)
	}
}

func TestJobs(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		fn       JobFunc
		cancel   bool
		check    func(error) bool
		wantFrac float64
	}{
		{"success", func(ctx context.Context, p Progress) error {
			p.Report(0.5, "half")
			return nil
		}, false, func(err error) bool { return err == nil }, 1},
		{"failure", func(ctx context.Context, p Progress) error {
			p.Report(0.25, "quarter")
			return boom
		}, false, func(err error) bool { return errors.Is(err, boom) }, 0.25},
		{"cancelled", func(ctx context.Context, p Progress) error {
			<-ctx.Done()
			return ctx.Err()
		}, true, Canceled, -1},
		{"panic", func(ctx context.Context, p Progress) error {
			var m map[string]int
			m["x"] = 1
			return nil
		}, false, func(err error) bool { return err != nil && !Canceled(err) }, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			defer s.Close()
			j := s.RunJob(tt.name, tt.fn)
			if tt.cancel {
				j.Cancel()
			}
			err := j.Wait()
			if !tt.check(err) {
				t.Errorf("Wait() = %v", err)
			}
			if f, _ := j.Progress(); f != tt.wantFrac {
				t.Errorf("progress %v, want %v", f, tt.wantFrac)
			}
			if n := len(s.Jobs()); n != 0 {
				t.Errorf("%d jobs still listed after the job ended", n)
			}
		})
	}
}

func TestCloseCancelsJobs(t *testing.T) {
	s := New(Options{})
	started := make(chan struct{})
	j := s.RunJob("wait", func(ctx context.Context, p Progress) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	if n := len(s.Jobs()); n != 1 {
		t.Fatalf("%d jobs listed while one runs", n)
	}
	s.Close()
	select {
	case <-j.Done():
	default:
		t.Fatal("Close returned before the job ended")
	}
	if !Canceled(j.Err()) {
		t.Errorf("job error %v, want cancelled", j.Err())
	}
}

func TestOpenJob(t *testing.T) {
	ready := testVolume(7)
	s := New(Options{Open: func(ctx context.Context, path string, _ volume.OpenOptions) (*volume.Volume, error) {
		switch path {
		case "slow":
			<-ctx.Done()
			return nil, ctx.Err()
		case "good":
			return ready, nil
		}
		return nil, errors.New("read " + path + ": no such file")
	}, AutosaveDir: t.TempDir()})
	defer s.Close()

	if err := s.Open("good", volume.OpenOptions{}).Wait(); err != nil {
		t.Fatal(err)
	}
	if v, p := s.Volume(); v != ready || p != "good" {
		t.Fatalf("Volume() = %p, %q after opening good", v, p)
	}
	if err := s.Open("missing", volume.OpenOptions{}).Wait(); err == nil {
		t.Error("opening a missing file succeeded")
	}
	j := s.Open("slow", volume.OpenOptions{})
	j.Cancel()
	if err := j.Wait(); !Canceled(err) {
		t.Errorf("cancelled open: %v", err)
	}
	if v, _ := s.Volume(); v != ready {
		t.Error("a failed or cancelled open replaced the open scan")
	}
}

func TestAutosaveTicker(t *testing.T) {
	s := newTestSession(t, Options{})
	s.Paint("Paint", []int{4}, 2)
	s.StartAutosave(time.Millisecond, func(err error) { t.Error(err) })
	// The ticker's effect is observed, not its timing: wait until the
	// session reports nothing left to save.
	for {
		s.mu.RLock()
		dirty := s.dirty
		s.mu.RUnlock()
		if !dirty {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if s.FindAutosave() == nil {
		t.Error("no autosave found after the ticker saved")
	}
}

func TestLoadInstallsLabelsAsBaseline(t *testing.T) {
	s := New(Options{AutosaveDir: t.TempDir()})
	defer s.Close()
	v := testVolume(0)
	l := volume.NewLabels(v.Grid)
	l.Data[7] = 3
	j := s.Load("Make example", "", func(ctx context.Context, p Progress) (*volume.Volume, *volume.Labels, error) {
		return v, l, nil
	})
	if err := j.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := labelsOf(s); got[7] != 3 {
		t.Fatalf("label at 7 = %d, want 3", got[7])
	}
	if _, ok := s.Undo(); ok {
		t.Error("the loaded labels are an undo step; want them as the starting point")
	}
	if p, err := s.Autosave(); p != "" || err != nil {
		t.Errorf("Autosave right after loading wrote %q, %v", p, err)
	}

	bad := volume.NewLabels(volume.Grid{Dims: [3]int{2, 2, 2}, Affine: volume.Identity()})
	j = s.Load("Make bad", "", func(ctx context.Context, p Progress) (*volume.Volume, *volume.Labels, error) {
		return testVolume(1), bad, nil
	})
	if err := j.Wait(); err == nil {
		t.Error("labels on another grid were accepted")
	}
}

func TestLabelCentre(t *testing.T) {
	s := newTestSession(t, Options{})
	v, _ := s.Volume()
	// A hook of label 4 whose centre of mass, (1.125, 2.125, 0) in voxels,
	// lies outside it: the hook's voxel nearest to it is (1, 3, 0).
	var idx []int
	for _, p := range [][3]int{{0, 0, 0}, {0, 1, 0}, {0, 2, 0}, {0, 3, 0}, {1, 3, 0}, {2, 3, 0}, {3, 3, 0}, {3, 2, 0}} {
		idx = append(idx, v.Index(p[0], p[1], p[2]))
	}
	s.Paint("L", idx, 4)
	tests := []struct {
		value uint16
		want  [3]int
		ok    bool
	}{
		{4, [3]int{1, 3, 0}, true},
		{5, [3]int{}, false},
		{0, [3]int{}, false},
	}
	for _, tt := range tests {
		got, ok := s.LabelCentre(tt.value)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("LabelCentre(%d) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}
