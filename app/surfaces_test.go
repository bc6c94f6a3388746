package app

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// surfaceScan returns a 48×40×30 scan whose affine mirrors x (as an LAS
// file's does), with anisotropic voxels away from the origin, and labels:
// 1 a ball, 2 a slab touching the grid's border, 5 a lumpy ellipsoid.
func surfaceScan() (*volume.Volume, *volume.Labels) {
	g := volume.Grid{Dims: [3]int{48, 40, 30}, Affine: volume.Affine{
		{-0.9, 0, 0, 20}, {0, 0.8, 0, -15}, {0, 0, 2, -30}, {0, 0, 0, 1}}}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	l := volume.NewLabels(g)
	for k := range g.Dims[2] {
		for j := range g.Dims[1] {
			for i := range g.Dims[0] {
				x, y, z := float64(i)*0.9, float64(j)*0.8, float64(k)*2
				var val uint16
				switch {
				case sq(x-10)+sq(y-10)+sq(z-16) <= 36:
					val = 1
				case i < 5 && j > 20:
					val = 2
				case sq((x-28)/9)+sq((y-20)/7)+sq((z-30)/12) <= 1+0.15*math.Sin(x/3)*math.Cos(z/5):
					val = 5
				}
				l.Data[g.Index(i, j, k)] = val
			}
		}
	}
	return v, l
}

func sq(x float64) float64 { return x * x }

// surfaceSession opens surfaceScan in a new session, starts its surfaces
// with opts and waits for them.
func surfaceSession(t *testing.T, opts SurfaceOptions) (*Session, *Surfaces) {
	t.Helper()
	s := New(Options{AutosaveDir: t.TempDir()})
	t.Cleanup(s.Close)
	v, l := surfaceScan()
	if err := s.setVolume(v, l, ""); err != nil {
		t.Fatal(err)
	}
	x := s.Surfaces(opts)
	waitSurfaces(t, x)
	return s, x
}

func waitSurfaces(t *testing.T, x *Surfaces) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := x.WaitIdle(ctx); err != nil {
		t.Fatalf("surfaces not done: %v", err)
	}
	if err := x.Err(); err != nil {
		t.Fatal(err)
	}
}

func currentLabels(s *Session) *volume.Labels {
	var out *volume.Labels
	s.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		out = &volume.Labels{Grid: l.Labels.Grid, Data: slices.Clone(l.Labels.Data)}
	})
	return out
}

// sameMesh checks that got is want: the same triangles, and vertices
// equal to within float32 rounding (the surfaces are made on a copy of
// the segment's box, placed by a shifted affine).
func sameMesh(t *testing.T, what string, got, want *mesh.Mesh) {
	t.Helper()
	if !slices.Equal(got.Triangles, want.Triangles) || len(got.Vertices) != len(want.Vertices) {
		t.Errorf("%s: %d triangles, %d vertices; mesh.Extract gives %d, %d", what,
			len(got.Triangles), len(got.Vertices), len(want.Triangles), len(want.Vertices))
		return
	}
	worst := 0.0
	for n := range got.Vertices {
		for a := range 3 {
			worst = max(worst, math.Abs(float64(got.Vertices[n][a]-want.Vertices[n][a])))
		}
	}
	if worst > 1e-4 {
		t.Errorf("%s: vertices up to %g mm from mesh.Extract's", what, worst)
	}
}

// checkSurfaces compares every surface with mesh.Extract and mesh.Measure
// on the session's labels as they are now, and checks that no other
// segment has one.
func checkSurfaces(t *testing.T, s *Session, x *Surfaces, smooth int) {
	t.Helper()
	l := currentLabels(s)
	present := l.Present()
	stats, err := mesh.Measure(context.Background(), l, present)
	if err != nil {
		t.Fatal(err)
	}
	all := x.All()
	if len(all) != len(present) {
		t.Fatalf("%d surfaces for the %d segments %v", len(all), len(present), present)
	}
	for n, v := range present {
		got, ok := x.Get(v)
		if !ok {
			t.Fatalf("no surface for label %d", v)
		}
		want, err := mesh.Extract(context.Background(), l, v, mesh.Options{Smooth: smooth})
		if err != nil {
			t.Fatal(err)
		}
		sameMesh(t, "label "+s.labelName(v), got.Mesh, want)
		if !got.Smoothed || got.Preview {
			t.Errorf("label %d: smoothed %v, preview %v once idle", v, got.Smoothed, got.Preview)
		}
		st := stats[n]
		if got.Voxels != st.Voxels || math.Abs(got.VolumeML-st.VolumeML) > 1e-9*st.VolumeML ||
			math.Abs(got.AreaMM2-st.SurfaceMM2) > 1e-5*st.SurfaceMM2 {
			t.Errorf("label %d: %d voxels, %.4f mL, %.3f mm²; mesh.Measure %d, %.4f, %.3f", v,
				got.Voxels, got.VolumeML, got.AreaMM2, st.Voxels, st.VolumeML, st.SurfaceMM2)
		}
	}
}

func TestSurfacesEqualExtract(t *testing.T) {
	for _, c := range []struct {
		name   string
		opt    int
		smooth int
	}{
		{"raw", NoSmoothing, 0},
		{"smoothed", 0, DefaultSurfaceSmooth},
		{"smoothed 6", 6, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, x := surfaceSession(t, SurfaceOptions{Smooth: c.opt})
			checkSurfaces(t, s, x, c.smooth)
		})
	}
}

// hookRecorder records the boxes the worker copies out, per label.
type hookRecorder struct {
	mu     sync.Mutex
	copied map[uint16][]VoxelBox
}

func record(x *Surfaces) *hookRecorder {
	h := &hookRecorder{copied: map[uint16][]VoxelBox{}}
	x.mu.Lock()
	x.testHook = func(stage string, v uint16, box VoxelBox) {
		if stage == "copied" {
			h.mu.Lock()
			h.copied[v] = append(h.copied[v], box)
			h.mu.Unlock()
		}
	}
	x.mu.Unlock()
	return h
}

func (h *hookRecorder) take() map[uint16][]VoxelBox {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.copied
	h.copied = map[uint16][]VoxelBox{}
	return out
}

// ball returns the voxel indices within r voxels of c.
func ball(g volume.Grid, c [3]int, r int) ([]int, VoxelBox) {
	var idx []int
	var box VoxelBox
	for k := c[2] - r; k <= c[2]+r; k++ {
		for j := c[1] - r; j <= c[1]+r; j++ {
			for i := c[0] - r; i <= c[0]+r; i++ {
				if g.Contains(i, j, k) && sq(float64(i-c[0]))+sq(float64(j-c[1]))+sq(float64(k-c[2])) <= float64(r*r) {
					idx = append(idx, g.Index(i, j, k))
					box.add(i, j, k)
				}
			}
		}
	}
	return idx, box
}

// After an edit, only the segments it changed are meshed again, each
// within its old box grown by the edit's, and the surfaces equal
// mesh.Extract's on the new labels; likewise after undo, a stroke, and
// an erase that empties a segment.
func TestSurfacesRemeshOnlyChangedSegments(t *testing.T) {
	s, x := surfaceSession(t, SurfaceOptions{Smooth: NoSmoothing})
	h := record(x)
	before := map[uint16]Surface{}
	for _, sf := range x.All() {
		before[sf.Label] = sf
	}
	v, _ := s.Volume()
	g := v.Grid

	// A ball of label 5 beside the ellipsoid, partly outside its box.
	idx, editBox := ball(g, [3]int{38, 24, 22}, 4)
	if _, err := s.Paint("Brush", idx, 5); err != nil {
		t.Fatal(err)
	}
	waitSurfaces(t, x)
	copied := h.take()
	if len(copied) != 1 || len(copied[5]) != 1 {
		t.Fatalf("painting label 5 copied out %v, want label 5 once", copied)
	}
	if want := before[5].Box.Union(editBox); copied[5][0] != want {
		t.Errorf("label 5 copied out in %v, want its box %v grown by the edit's %v: %v", copied[5][0], before[5].Box, editBox, want)
	}
	for _, sf := range x.All() {
		if changed := sf.Version != before[sf.Label].Version; changed != (sf.Label == 5) {
			t.Errorf("label %d: re-meshed %v after painting label 5", sf.Label, changed)
		}
	}
	checkSurfaces(t, s, x, 0)

	// Undo: label 5 again, and back to what it was.
	s.Undo()
	waitSurfaces(t, x)
	if copied := h.take(); len(copied) != 1 || len(copied[5]) != 1 {
		t.Errorf("undo copied out %v, want label 5 once", copied)
	}
	checkSurfaces(t, s, x, 0)
	got, _ := x.Get(5)
	sameMesh(t, "label 5 after undo", got.Mesh, before[5].Mesh)

	// A stroke over labels 1 and 5 with overwrite on: both, not 2, and
	// only once the stroke ends.
	s.SetOverwriteOthers(true)
	st, err := s.BeginStroke("Brush", PaintOptions{Value: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ball(g, [3]int{12, 12, 8}, 3)
	b, _ := ball(g, [3]int{31, 25, 15}, 3)
	for _, part := range [][]int{a, b} {
		if _, err := st.Paint(part); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.End(); err != nil {
		t.Fatal(err)
	}
	waitSurfaces(t, x)
	copied = h.take()
	if len(copied) != 2 || len(copied[1]) != 1 || len(copied[5]) != 1 {
		t.Errorf("a stroke of label 1 over label 5 copied out %v, want labels 1 and 5 once each", copied)
	}
	checkSurfaces(t, s, x, 0)

	// Erasing all of label 2 takes its surface away.
	if _, err := s.DeleteSegment(2); err != nil {
		t.Fatal(err)
	}
	waitSurfaces(t, x)
	if _, ok := x.Get(2); ok {
		t.Error("label 2 deleted, its surface still shown")
	}
	checkSurfaces(t, s, x, 0)
}

// A pending preview is shown merged as accepting it would merge it, slice
// by slice as a propagation streams in; accepting keeps that surface,
// rejecting brings the segment's own back.
func TestSurfacesFollowPreview(t *testing.T) {
	s, x := surfaceSession(t, SurfaceOptions{Smooth: NoSmoothing})
	v, _ := s.Volume()
	g := v.Grid
	committed := currentLabels(s)

	// A live preview of label 5, empty, as a propagation starts one.
	pv := newPreview("Propagate", v, newProposal(g), []uint16{5}, -1, []uint32{})
	if err := s.setPreview(pv); err != nil {
		t.Fatal(err)
	}
	stream := func(k int) {
		// Slice k decided: label 5 is a disc there, wherever it was.
		s.mu.Lock()
		for j := range g.Dims[1] {
			for i := range g.Dims[0] {
				idx := g.Index(i, j, k)
				pv.scope = append(pv.scope, uint32(idx))
				if sq(float64(i-30))+sq(float64(j-24)) <= 36 {
					pv.labels.set(idx, 5)
				}
			}
		}
		s.mu.Unlock()
		s.changed(ChangePreview)
	}
	merged := func() *volume.Labels {
		m := &volume.Labels{Grid: g, Data: slices.Clone(committed.Data)}
		s.mu.RLock()
		e := pv.merge(m)
		s.mu.RUnlock()
		for n, i := range e.idx {
			m.Data[i] = e.new[n]
		}
		return m
	}
	for _, k := range []int{15, 16, 26, 27} {
		stream(k)
		waitSurfaces(t, x)
		got, ok := x.Get(5)
		if !ok || !got.Preview {
			t.Fatalf("slice %d streamed in: surface %v, preview %v", k, ok, got.Preview)
		}
		want, err := mesh.Extract(context.Background(), merged(), 5, mesh.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sameMesh(t, "label 5 with the preview", got.Mesh, want)
	}
	if other, _ := x.Get(1); other.Preview {
		t.Error("label 1, which the preview does not propose, is shown as a preview")
	}

	final := merged()
	if _, err := s.AcceptPreview(); err != nil {
		t.Fatal(err)
	}
	waitSurfaces(t, x)
	if !slices.Equal(currentLabels(s).Data, final.Data) {
		t.Fatal("accepting gave other labels than the merge shown")
	}
	checkSurfaces(t, s, x, 0)

	// Another preview, rejected: the committed surface comes back.
	s.Undo()
	waitSurfaces(t, x)
	before, _ := x.Get(5)
	whole := volume.NewLabels(g)
	idx, _ := ball(g, [3]int{20, 30, 6}, 4)
	for _, i := range idx {
		whole.Data[i] = 5
	}
	if err := s.setPreview(newPreview("Segment", v, proposalOf(whole), []uint16{5}, -1, nil)); err != nil {
		t.Fatal(err)
	}
	waitSurfaces(t, x)
	if got, _ := x.Get(5); !got.Preview || got.Voxels >= before.Voxels {
		// A whole-volume preview decides every voxel: label 5 becomes
		// the ball alone.
		t.Errorf("whole-volume preview: preview %v, %d voxels (segment %d)", got.Preview, got.Voxels, before.Voxels)
	}
	s.RejectPreview()
	waitSurfaces(t, x)
	checkSurfaces(t, s, x, 0)
}

// Work that became stale is given up: the smoothing of a segment that
// changed meanwhile (its raw surface is shown, then the new state's), and
// everything for a scan that was replaced.
func TestSurfacesCancelStaleWork(t *testing.T) {
	t.Run("smoothing of a changed segment", func(t *testing.T) {
		var mu sync.Mutex
		var shown []Surface
		var surf atomic.Pointer[Surfaces]
		s, x := surfaceSession(t, SurfaceOptions{SmoothWait: time.Hour, OnUpdate: func(labels []uint16) {
			if x := surf.Load(); x != nil && slices.Contains(labels, 5) {
				sf, _ := x.Get(5)
				mu.Lock()
				shown = append(shown, sf)
				mu.Unlock()
			}
		}})
		surf.Store(x)
		v, _ := s.Volume()
		first, _ := ball(v.Grid, [3]int{38, 24, 22}, 3)
		second, _ := ball(v.Grid, [3]int{24, 24, 22}, 3)

		reached, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		x.mu.Lock()
		x.testHook = func(stage string, label uint16, _ VoxelBox) {
			if stage == "smoothing" && label == 5 {
				once.Do(func() {
					close(reached)
					<-release
				})
			}
		}
		x.mu.Unlock()
		if _, err := s.Paint("first", first, 5); err != nil {
			t.Fatal(err)
		}
		<-reached
		stateA := currentLabels(s)
		if _, err := s.Paint("second", second, 5); err != nil {
			t.Fatal(err)
		}
		close(release)
		waitSurfaces(t, x)

		rawA, err := mesh.Extract(context.Background(), stateA, 5, mesh.Options{})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(shown) < 2 {
			t.Fatalf("%d surfaces of label 5 shown, want the first edit's raw one and the second's", len(shown))
		}
		if shown[0].Smoothed {
			t.Error("the first edit's surface was smoothed although label 5 changed while smoothing")
		}
		sameMesh(t, "the first edit's raw surface", shown[0].Mesh, rawA)
		for _, sf := range shown[1:] {
			if sf.Voxels != shown[len(shown)-1].Voxels {
				t.Errorf("a surface of %d voxels shown after the second edit's (%d)", sf.Voxels, shown[len(shown)-1].Voxels)
			}
		}
		checkSurfaces(t, s, x, DefaultSurfaceSmooth)
	})

	t.Run("a replaced scan", func(t *testing.T) {
		s, x := surfaceSession(t, SurfaceOptions{Smooth: NoSmoothing})
		old, _ := s.Volume()
		reached, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		x.mu.Lock()
		x.testHook = func(stage string, label uint16, _ VoxelBox) {
			if stage == "copied" {
				once.Do(func() {
					close(reached)
					<-release
				})
			}
		}
		x.mu.Unlock()
		idx, _ := ball(old.Grid, [3]int{38, 24, 22}, 3)
		if _, err := s.Paint("Brush", idx, 5); err != nil {
			t.Fatal(err)
		}
		<-reached
		// A new scan with one small segment, while label 5 of the old
		// one is being meshed.
		nv := testVolume(0)
		nl := volume.NewLabels(nv.Grid)
		for i := 0; i < 20; i++ {
			nl.Data[nv.Index(3+i%4, 4+i/4%3, 3)] = 9
		}
		done := make(chan error)
		go func() { done <- s.setVolume(nv, nl, "") }()
		// setVolume resets the surfaces before it returns; the worker is
		// held until then.
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		close(release)
		waitSurfaces(t, x)
		all := x.All()
		if len(all) != 1 || all[0].Label != 9 {
			t.Fatalf("surfaces after a new scan: %v", labelsOfSurfaces(all))
		}
		checkSurfaces(t, s, x, 0)
	})
}

func labelsOfSurfaces(ss []Surface) []uint16 {
	var out []uint16
	for _, s := range ss {
		out = append(out, s.Label)
	}
	return out
}
