package tools

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

const (
	spleen = 1
	liver  = 5
)

// newSession returns a session showing a 64×48×10 scan of 1×1×2 mm voxels
// whose left half (voxel i < 32) is 100 HU and right half -100 HU, and an
// editor on it painting the liver.
func newSession(t *testing.T) (*app.Session, *Editor) {
	t.Helper()
	s := app.New(app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(s.Close)
	g := volume.Grid{Dims: [3]int{64, 48, 10}, Affine: volume.Identity()}
	g.Affine[2][2] = 2
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		if i%64 < 32 {
			v.Data[i] = 100
		} else {
			v.Data[i] = -100
		}
	}
	if err := s.SetVolume(v, ""); err != nil {
		t.Fatal(err)
	}
	e := New(s)
	set := e.Settings()
	set.Value = liver
	if err := e.SetSettings(set); err != nil {
		t.Fatal(err)
	}
	return s, e
}

func at(slice int, u, v float64) Point { return Point{Plane: viewer.Axial, Slice: slice, U: u, V: v} }

func slicerOf(s *app.Session, p viewer.Plane) viewer.Slicer {
	v, _ := s.Volume()
	return viewer.NewSlicer(v.Grid, p)
}

// labelsOn returns the labels of slice of plane p as rows of pixels.
func labelsOn(s *app.Session, p viewer.Plane, slice int) [][]uint16 {
	sl := slicerOf(s, p)
	w, h := sl.Size()
	out := make([][]uint16, h)
	s.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		for y := range h {
			out[y] = make([]uint16, w)
			for x := range w {
				out[y][x] = l.Labels.Data[sl.Index(slice, x, y)]
			}
		}
	})
	return out
}

func count(rows [][]uint16, value uint16) int {
	n := 0
	for _, r := range rows {
		for _, x := range r {
			if x == value {
				n++
			}
		}
	}
	return n
}

func allLabels(s *app.Session) []uint16 {
	var out []uint16
	s.Read(func(_ *volume.Volume, l *viewer.Overlay) { out = slices.Clone(l.Labels.Data) })
	return out
}

func setSize(t *testing.T, e *Editor, mm float64, sphere bool) {
	t.Helper()
	set := e.Settings()
	set.SizeMM, set.Sphere = mm, sphere
	if err := e.SetSettings(set); err != nil {
		t.Fatal(err)
	}
}

// distToSegment returns the distance from (x, y) to the segment a–b.
func distToSegment(x, y, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := ((x-ax)*dx + (y-ay)*dy) / (dx*dx + dy*dy)
	t = min(max(t, 0), 1)
	return math.Hypot(x-ax-t*dx, y-ay-t*dy)
}

// A brush stroke across two slices is one undo step: on the first slice
// exactly the pixels within the radius of the path, on the second those
// within the radius of where it went on; erasing half of it, undo and
// redo bring each state back.
func TestBrushStrokeAcrossTwoSlicesEraseUndoRedo(t *testing.T) {
	s, e := newSession(t)
	setSize(t, e, 4, false) // radius 2 mm = 2 pixels
	e.SetTool(Brush)
	steps := []struct {
		do func(Point) error
		at Point
	}{
		{e.Press, at(4, 10.5, 10.5)},
		{e.Drag, at(4, 15.2, 10.7)},
		{e.Drag, at(4, 20.5, 10.5)},
		// The wheel turned with the button held: the stroke goes on on
		// the next slice.
		{e.Drag, at(5, 20.5, 20.5)},
		{e.Release, at(5, 20.5, 20.5)},
	}
	for _, st := range steps {
		if err := st.do(st.at); err != nil {
			t.Fatal(err)
		}
	}
	if e.Busy() {
		t.Error("the editor is busy after the release")
	}
	on4, on5 := labelsOn(s, viewer.Axial, 4), labelsOn(s, viewer.Axial, 5)
	for y, row := range on4 {
		for x, got := range row {
			want := distToSegment(float64(x), float64(y), 10, 10, 20, 10) <= 2
			if (got == liver) != want {
				t.Fatalf("slice 4 pixel (%d, %d) is %d, want painted %v", x, y, got, want)
			}
		}
	}
	for y, row := range on5 {
		for x, got := range row {
			want := math.Hypot(float64(x-20), float64(y-20)) <= 2
			if (got == liver) != want {
				t.Fatalf("slice 5 pixel (%d, %d) is %d, want painted %v", x, y, got, want)
			}
		}
	}
	painted := allLabels(s)
	total := count(on4, liver) + count(on5, liver)
	if n := s.SegmentOf(liver).Voxels; n != total {
		t.Errorf("%d liver voxels in the volume, %d on the two slices", n, total)
	}
	if u, _ := s.UndoRedoNames(); u != "Paint liver" {
		t.Errorf("undo step %q", u)
	}

	// Erase the right half of the first slice's stroke.
	e.SetTool(Eraser)
	setSize(t, e, 8, false)
	for _, st := range []struct {
		do func(Point) error
		at Point
	}{{e.Press, at(4, 19.5, 6.5)}, {e.Drag, at(4, 19.5, 14.5)}, {e.Release, at(4, 19.5, 14.5)}} {
		if err := st.do(st.at); err != nil {
			t.Fatal(err)
		}
	}
	erased := allLabels(s)
	for y, row := range labelsOn(s, viewer.Axial, 4) {
		for x, got := range row {
			inStroke := distToSegment(float64(x), float64(y), 10, 10, 20, 10) <= 2
			inEraser := distToSegment(float64(x), float64(y), 19, 6, 19, 14) <= 4
			if want := inStroke && !inEraser; (got == liver) != want {
				t.Fatalf("after erasing, slice 4 pixel (%d, %d) is %d, want painted %v", x, y, got, want)
			}
		}
	}
	if got := labelsOn(s, viewer.Axial, 5); count(got, liver) != count(on5, liver) {
		t.Error("the eraser on slice 4 changed slice 5")
	}
	for _, st := range []struct {
		op   func() (string, bool)
		name string
		want []uint16
	}{
		{s.Undo, "Erase liver", painted},
		{s.Undo, "Paint liver", make([]uint16, len(painted))},
		{s.Redo, "Paint liver", painted},
		{s.Redo, "Erase liver", erased},
	} {
		if name, _ := st.op(); name != st.name || !slices.Equal(allLabels(s), st.want) {
			t.Errorf("%s: labels differ from the state expected", name)
		}
	}
}

func TestSphereBrushReachesNeighbouringSlices(t *testing.T) {
	s, e := newSession(t)
	// Radius 2.5 mm with 2 mm slices: the slices either side get the disc
	// of radius 1.5 mm (9 pixels: a 3×3 square), the slice itself 21.
	setSize(t, e, 5, true)
	e.SetTool(Brush)
	if err := e.Press(at(4, 30.5, 30.5)); err != nil {
		t.Fatal(err)
	}
	e.Release(at(4, 30.5, 30.5))
	for slice, want := range map[int]int{2: 0, 3: 9, 4: 21, 5: 9, 6: 0} {
		if got := count(labelsOn(s, viewer.Axial, slice), liver); got != want {
			t.Errorf("slice %d: %d voxels painted, want %d", slice, got, want)
		}
	}
}

func TestBrushOnEveryPlaneFollowsTheView(t *testing.T) {
	for _, p := range viewer.Planes {
		t.Run(p.String(), func(t *testing.T) {
			s, e := newSession(t)
			setSize(t, e, 0.5, false) // one voxel
			e.SetTool(Brush)
			sl := slicerOf(s, p)
			slice := sl.NumSlices() / 2
			pt := Point{Plane: p, Slice: slice, U: 3.5, V: 4.5}
			e.Press(pt)
			e.Release(pt)
			i, j, k := sl.Voxel(slice, 3, 4)
			s.Read(func(_ *volume.Volume, l *viewer.Overlay) {
				if got := l.Labels.At(i, j, k); got != liver {
					t.Errorf("voxel %v under the click is %d", [3]int{i, j, k}, got)
				}
			})
			if n := s.SegmentOf(liver).Voxels; n != 1 {
				t.Errorf("%d voxels painted, want 1", n)
			}
		})
	}
}

func TestThresholdBrushLeavesOutOfRangeVoxels(t *testing.T) {
	s, e := newSession(t)
	setSize(t, e, 21, false)
	set := e.Settings()
	set.HU = app.HURange{Min: 50, Max: 150}
	e.SetSettings(set)
	e.SetTool(Threshold)
	// A stroke across the boundary between the 100 HU and -100 HU halves.
	e.Press(at(4, 20.5, 24.5))
	e.Drag(at(4, 44.5, 24.5))
	e.Release(at(4, 44.5, 24.5))
	sl := slicerOf(s, viewer.Axial)
	inRange, outRange := 0, 0
	for y, row := range labelsOn(s, viewer.Axial, 4) {
		for x, got := range row {
			if got != liver {
				continue
			}
			if i, _, _ := sl.Voxel(4, x, y); i < 32 {
				inRange++
			} else {
				outRange++
			}
		}
	}
	if inRange < 200 || outRange != 0 {
		t.Errorf("threshold stroke painted %d voxels in range and %d outside, want many and none", inRange, outRange)
	}
	log := s.ProvenanceLog()
	last := log[len(log)-1].What
	if last.Tool != "threshold-brush" || last.Options["size_mm"] != 21.0 || last.Prompts.Plane != "axial" {
		t.Errorf("provenance %+v", last)
	}
	if r, ok := last.Options["hu_range"].([]float64); !ok || !slices.Equal(r, []float64{50, 150}) {
		t.Errorf("provenance HU range %v", last.Options["hu_range"])
	}
}

func TestPolygon(t *testing.T) {
	square := []Point{at(4, 10.5, 10.5), at(4, 20.5, 10.5), at(4, 20.5, 20.5), at(4, 10.5, 20.5)}
	tests := []struct {
		name  string
		draw  func(e *Editor) error
		want  int // pixels filled
		check func(x, y int) bool
	}{
		{"clicks and double-click", func(e *Editor) error {
			for _, p := range square {
				e.Press(p)
				e.Release(p)
			}
			e.Press(square[3]) // the double-click's second press
			return e.DoubleClick(square[3])
		}, 100, func(x, y int) bool { return x >= 10 && x < 20 && y >= 10 && y < 20 }},
		{"clicks and Enter", func(e *Editor) error {
			for _, p := range square {
				e.Press(p)
				e.Release(p)
			}
			_, err := e.Key(KeyEnter)
			return err
		}, 100, func(x, y int) bool { return x >= 10 && x < 20 && y >= 10 && y < 20 }},
		{"Backspace removes a corner", func(e *Editor) error {
			for _, p := range append(slices.Clone(square), at(4, 40, 40)) {
				e.Press(p)
				e.Release(p)
			}
			e.Key(KeyBackspace)
			_, err := e.Key(KeyEnter)
			return err
		}, 100, func(x, y int) bool { return x >= 10 && x < 20 && y >= 10 && y < 20 }},
		{"lasso dragged", func(e *Editor) error {
			// A right triangle dragged with the button held.
			e.Press(at(4, 0, 0))
			for n := 1; n <= 20; n++ {
				e.Drag(at(4, float64(n), 0))
			}
			for n := 1; n <= 20; n++ {
				e.Drag(at(4, 20-float64(n), float64(n)))
			}
			e.Release(at(4, 0, 20))
			_, err := e.Key(KeyEnter)
			return err
			// Pixels whose centres are inside: x+0.5 + y+0.5 < 20.
		}, 190, func(x, y int) bool { return x+y < 19 }},
		{"Escape cancels", func(e *Editor) error {
			for _, p := range square {
				e.Press(p)
				e.Release(p)
			}
			if handled, _ := e.Key(KeyEscape); !handled {
				return errors.New("Escape not handled")
			}
			return nil
		}, 0, func(x, y int) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e := newSession(t)
			e.SetTool(Polygon)
			if err := tt.draw(e); err != nil {
				t.Fatal(err)
			}
			if e.Busy() {
				t.Error("the polygon is still open")
			}
			rows := labelsOn(s, viewer.Axial, 4)
			if n := count(rows, liver); n != tt.want {
				t.Errorf("%d pixels filled, want %d", n, tt.want)
			}
			for y, row := range rows {
				for x, got := range row {
					if (got == liver) != tt.check(x, y) {
						t.Fatalf("pixel (%d, %d) is %d", x, y, got)
					}
				}
			}
			if n := s.SegmentOf(liver).Voxels; n != tt.want {
				t.Errorf("%d voxels filled in the volume, %d on the slice", n, tt.want)
			}
			if tt.want > 0 {
				if u, _ := s.UndoRedoNames(); u != "Polygon liver" {
					t.Errorf("undo step %q", u)
				}
			}
		})
	}
}

func TestPolygonNeedsThreeCorners(t *testing.T) {
	_, e := newSession(t)
	e.SetTool(Polygon)
	e.Press(at(4, 1, 1))
	e.Press(at(4, 5, 1))
	if _, err := e.Key(KeyEnter); err == nil {
		t.Error("a two-corner polygon closed without an error")
	}
}

func TestPolygonDroppedWhenTheScanChanges(t *testing.T) {
	s, e := newSession(t)
	e.SetTool(Polygon)
	for _, p := range []Point{at(4, 1, 1), at(4, 9, 1), at(4, 9, 9)} {
		e.Press(p)
	}
	v, _ := s.Volume()
	if err := s.SetVolume(&volume.Volume{Grid: v.Grid, Data: v.Data}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Key(KeyEnter); err == nil {
		t.Error("a polygon drawn on the previous scan was filled on the new one")
	}
	if n := s.SegmentOf(liver).Voxels; n != 0 {
		t.Errorf("%d voxels filled", n)
	}
}

func TestPolygonOverlayFollowsItsSlice(t *testing.T) {
	_, e := newSession(t)
	e.SetTool(Polygon)
	e.Press(at(4, 1, 1))
	e.Press(at(4, 5, 1))
	if o := e.Overlay(viewer.Axial, 4); len(o.Polygon) != 2 {
		t.Errorf("overlay on the polygon's slice: %d corners", len(o.Polygon))
	}
	if o := e.Overlay(viewer.Axial, 5); len(o.Polygon) != 0 {
		t.Error("overlay shows the polygon on another slice")
	}
	// A click on another slice starts a new polygon there.
	e.Press(at(6, 2, 2))
	if o := e.Overlay(viewer.Axial, 6); len(o.Polygon) != 1 {
		t.Errorf("new polygon has %d corners", len(o.Polygon))
	}
}

func TestFloodFill(t *testing.T) {
	tests := []struct {
		name    string
		sphere  bool
		hu      app.HURange
		seed    Point
		barrier bool // a spleen wall across the left half
		want    int
		wantErr bool
	}{
		// The left half of a 64×48 slice is 100 HU: 32×48 voxels.
		{"2D", false, app.HURange{Min: 50, Max: 150}, at(4, 50.5, 10.5), false, 32 * 48, false},
		{"3D", true, app.HURange{Min: 50, Max: 150}, at(4, 50.5, 10.5), false, 32 * 48 * 10, false},
		{"stops at another segment", false, app.HURange{Min: 50, Max: 150}, at(4, 50.5, 10.5), true, 32 * 20, false},
		{"seed out of range", false, app.HURange{Min: 50, Max: 150}, at(4, 10.5, 10.5), false, 0, true},
		{"outside the scan", false, app.HURange{Min: -200, Max: 200}, at(4, -3, 10), false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e := newSession(t)
			sl := slicerOf(s, viewer.Axial)
			if tt.barrier {
				// Row 20 of slice 4, all across: the fill from row 10 keeps
				// to rows 0..19.
				var idx []int
				for x := range 64 {
					idx = append(idx, sl.Index(4, x, 20))
				}
				s.Paint("wall", idx, spleen)
			}
			set := e.Settings()
			set.HU, set.Sphere = tt.hu, tt.sphere
			e.SetSettings(set)
			e.SetTool(Fill)
			err := e.Press(tt.seed)
			e.Release(tt.seed)
			if (err != nil) != tt.wantErr {
				t.Fatalf("fill: %v", err)
			}
			if err != nil {
				t.Logf("message: %v", err)
			}
			if n := s.SegmentOf(liver).Voxels; n != tt.want {
				t.Errorf("%d voxels filled, want %d", n, tt.want)
			}
			if tt.barrier && s.SegmentOf(spleen).Voxels != 64 {
				t.Error("the fill overwrote the spleen")
			}
			if tt.want > 0 {
				if u, _ := s.UndoRedoNames(); u != "Fill liver" {
					t.Errorf("undo step %q", u)
				}
			}
		})
	}
}

// A locked segment survives a stroke over it, even with overwrite on;
// an unlocked one is overwritten only with overwrite on.
func TestLockedSegmentSurvivesStroke(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		s, e := newSession(t)
		sl := slicerOf(s, viewer.Axial)
		var locked, other []int
		for x := 10; x < 30; x++ {
			locked = append(locked, sl.Index(4, x, 10))
			other = append(other, sl.Index(4, x, 14))
		}
		s.Paint("spleen", locked, spleen)
		s.Paint("kidney", other, 2)
		s.SetLocked(spleen, true)
		s.SetOverwriteOthers(overwrite)
		setSize(t, e, 15, false)
		e.SetTool(Brush)
		e.Press(at(4, 10.5, 12.5))
		e.Drag(at(4, 30.5, 12.5))
		e.Release(at(4, 30.5, 12.5))
		if n := s.SegmentOf(spleen).Voxels; n != 20 {
			t.Errorf("overwrite %v: the locked spleen has %d voxels left of 20", overwrite, n)
		}
		kidney := s.SegmentOf(2).Voxels
		if overwrite && kidney != 0 || !overwrite && kidney != 20 {
			t.Errorf("overwrite %v: the unlocked kidney has %d voxels left of 20", overwrite, kidney)
		}
		if n := s.SegmentOf(liver).Voxels; n < 300 {
			t.Errorf("overwrite %v: only %d voxels painted", overwrite, n)
		}
	}
}

func TestBoxTool(t *testing.T) {
	s, e := newSession(t)
	var got [][3]int
	var plane viewer.Plane
	e.OnBox = func(p viewer.Plane, slice int, a, b [3]int) { plane, got = p, [][3]int{a, b} }
	e.SetTool(Box)
	e.Press(at(4, 5.5, 6.5))
	e.Drag(at(4, 12.5, 20.5))
	if o := e.Overlay(viewer.Axial, 4); !o.BoxOn {
		t.Error("no box overlay while dragging")
	}
	e.Release(at(4, 200, 20.5)) // past the edge: clamped
	sl := slicerOf(s, viewer.Axial)
	i, j, k := sl.Voxel(4, 5, 6)
	i2, j2, k2 := sl.Voxel(4, 63, 20)
	if plane != viewer.Axial || len(got) != 2 || got[0] != [3]int{i, j, k} || got[1] != [3]int{i2, j2, k2} {
		t.Errorf("box %v on %v, want %v %v", got, plane, [3]int{i, j, k}, [3]int{i2, j2, k2})
	}
	got = nil
	e.Press(at(4, 5.5, 6.5))
	e.Release(at(4, 6, 7)) // a click, not a box
	if got != nil {
		t.Error("a click gave a box")
	}
}

func TestEscapeCancelsStroke(t *testing.T) {
	s, e := newSession(t)
	e.SetTool(Brush)
	e.Press(at(4, 10, 10))
	e.Drag(at(4, 20, 10))
	if handled, _ := e.Key(KeyEscape); !handled {
		t.Fatal("Escape during a stroke not handled")
	}
	e.Release(at(4, 20, 10))
	if n := s.SegmentOf(liver).Voxels; n != 0 {
		t.Errorf("%d voxels left by a cancelled stroke", n)
	}
	if u, _ := s.UndoRedoNames(); u != "" {
		t.Errorf("a cancelled stroke left undo step %q", u)
	}
}

func TestPickHU(t *testing.T) {
	s, e := newSession(t)
	sl := slicerOf(s, viewer.Axial)
	// Deep in the 100 HU half: a range around 100 at least 20 wide.
	i, j, k := sl.Voxel(4, 50, 24)
	r, err := e.PickHU([3]int{i, j, k})
	if err != nil {
		t.Fatal(err)
	}
	if !(r.Min <= 100 && r.Max >= 100 && r.Max-r.Min >= 20 && r.Min > 0) {
		t.Errorf("picked %v inside a uniform 100 HU region", r)
	}
	if e.Settings().HU != r {
		t.Error("the picked range was not set")
	}
}

func TestSettingsAreChecked(t *testing.T) {
	_, e := newSession(t)
	set := e.Settings()
	set.HU = app.HURange{Min: 10, Max: 0}
	if err := e.SetSettings(set); err == nil {
		t.Error("an empty HU range was accepted")
	}
	set = e.Settings()
	set.SizeMM = -3
	e.SetSettings(set)
	if got := e.Settings().SizeMM; got != MinSizeMM {
		t.Errorf("size -3 set as %g, want the minimum", got)
	}
}
