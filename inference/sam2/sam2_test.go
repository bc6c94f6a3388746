package sam2

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// loadSAM2StandIn exports the stand-in graphs, writes their manifests as a
// user would (WriteSAM2Manifests) and loads them.
func loadSAM2StandIn(t *testing.T, opts Options) *Model {
	t.Helper()
	rt := modeltest.Runtime(t)
	dir := exportSAM2StandIn(t, "")
	if _, err := WriteManifests(rt, dir); err != nil {
		t.Fatal(err)
	}
	s, err := Load(rt, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sam2Scene is a 64 x 64 x n volume described on its slice images (the
// Slicer's radiological picture): hu(k, r, c) is slice k's pixel (r, c).
func sam2Scene(t *testing.T, n int, hu func(k, r, c int) float32) (*volume.Volume, *section.Slicer) {
	t.Helper()
	g := volume.Grid{Dims: [3]int{64, 64, n}, Affine: volume.Affine{{-1, 0, 0, 30}, {0, 1, 0, -20}, {0, 0, 2.5, 0}, {0, 0, 0, 1}}}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	sl, err := section.NewSlicer(g, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < n; k++ {
		for r := 0; r < 64; r++ {
			for c := 0; c < 64; c++ {
				x := sl.Voxel(k, r, c)
				v.Data[g.Index(x[0], x[1], x[2])] = hu(k, r, c)
			}
		}
	}
	return v, sl
}

func sam2Disc(rows, cols int, r0, c0, radius float64) *section.Mask {
	m := section.NewMask(rows, cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			dr, dc := float64(r)-r0, float64(c)-c0
			m.Data[r*cols+c] = dr*dr+dc*dc <= radius*radius
		}
	}
	return m
}

// The moving scene: a disc of 200 HU that moves two columns per slice,
// present on slices 3..11 of 15, and a static disc of the same density
// (a neighbouring organ) on every slice, in air.
const sam2First, sam2Last, sam2Anchor, sam2Slices = 3, 11, 7, 15

func sam2MovingDisc(k int) *section.Mask {
	if k < sam2First || k > sam2Last {
		return section.NewMask(64, 64)
	}
	return sam2Disc(64, 64, 40, float64(20+2*k), 4)
}

var sam2Neighbour = sam2Disc(64, 64, 12, 32, 4)

func sam2MovingScene(t *testing.T) (*volume.Volume, *section.Slicer) {
	masks := make([]*section.Mask, sam2Slices)
	for k := range masks {
		masks[k] = sam2MovingDisc(k)
	}
	return sam2Scene(t, sam2Slices, func(k, r, c int) float32 {
		if masks[k].Data[r*64+c] || sam2Neighbour.Data[r*64+c] {
			return 200
		}
		return -1000
	})
}

// The engine carries the anchor through the slices in order, outward from
// it, with the memory of each slice conditioning the next: the moving disc
// is followed and the neighbouring disc, as bright, never taken; each
// chain stops two slices past the structure; the confidence falls with the
// distance to the anchor, as the stand-in's IoU does when
// cond_frame_id_diff is that distance.
func TestSAM2Propagate(t *testing.T) {
	s := loadSAM2StandIn(t, Options{})
	v, _ := sam2MovingScene(t)
	var order []int
	var reports int
	res, err := s.Propagate(context.Background(), propagate.Request{
		Volume: v, Label: 5,
		Anchors:  []propagate.Anchor{{Slice: sam2Anchor, Mask: sam2MovingDisc(sam2Anchor)}},
		OnSlice:  func(r propagate.SliceResult) { order = append(order, r.Slice) },
		Progress: onnxrt.ProgressFunc(func(done, total int, _ string) { reports++ }),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{7, 6, 5, 4, 3, 2, 1, 8, 9, 10, 11, 12, 13}
	if !slices.Equal(order, want) {
		t.Fatalf("slices decided in the order %v, want %v", order, want)
	}
	if reports < len(want) {
		t.Errorf("%d progress reports for %d slices", reports, len(want))
	}
	if got, ok := res.Range(); !ok || got != (propagate.SliceRange{From: 1, To: 13}) || len(res.Slices) != len(want) {
		t.Fatalf("decided %v (%d slices), want slices 1..13 (two past the structure on each side)", got, len(res.Slices))
	}
	prev := map[int]float64{}
	for _, r := range res.Slices {
		truth := sam2MovingDisc(r.Slice)
		switch {
		case r.Anchor:
			if r.Slice != sam2Anchor || r.Confidence != 1 {
				t.Errorf("anchor result %+v", r)
			}
		case truth.Area() == 0:
			if r.Mask.Area() != 0 {
				t.Errorf("slice %d past the structure has %d pixels", r.Slice, r.Mask.Area())
			}
			stops := r.Slice == sam2First-2 || r.Slice == sam2Last+2
			if (r.Stop != "") != stops {
				t.Errorf("slice %d: stop %q", r.Slice, r.Stop)
			}
		default:
			if d := section.Dice(r.Mask, truth); d < 0.95 {
				t.Errorf("slice %d: Dice %.3f with the moving disc", r.Slice, d)
			}
			if n := sam2Overlap(r.Mask, sam2Neighbour); n > 0 {
				t.Errorf("slice %d: %d pixels on the neighbouring disc", r.Slice, n)
			}
			d := max(r.Slice-sam2Anchor, sam2Anchor-r.Slice)
			prev[d*sam2Sign(r.Slice-sam2Anchor)] = r.Confidence
			if r.Stop != "" {
				t.Errorf("slice %d holds the structure but says stop %q", r.Slice, r.Stop)
			}
		}
	}
	for d := 2; d <= 4; d++ {
		for _, s := range []int{-1, 1} {
			if !(prev[s*d] < prev[s*(d-1)]) {
				t.Errorf("confidence %d slices from the anchor (%v) not below %d slices (%v)", s*d, prev[s*d], s*(d-1), prev[s*(d-1)])
			}
		}
	}
	// Label 5 (TotalSegmentator's liver) is seen in the encoder's window
	// like any other: windows never come from label values.
	if res.Info.Engine != "sam2" || len(res.Info.Models) != 4 || !slices.Equal(res.Info.Anchors, []int{sam2Anchor}) ||
		res.Info.Window == nil || *res.Info.Window != (models.Window{Level: 40, Width: 400}) {
		t.Errorf("engine info %+v", res.Info)
	}
}

func sam2Sign(x int) int {
	if x < 0 {
		return -1
	}
	return 1
}

func sam2Overlap(a, b *section.Mask) int {
	n := 0
	for i, x := range a.Data {
		if x && b.Data[i] {
			n++
		}
	}
	return n
}

// With only the anchor in the memory bank (no recent slice), the stand-in
// loses the moving disc within a few slices: so the test above passes
// because memories flow from slice to slice.
func TestSAM2RecentMemoriesMatter(t *testing.T) {
	s := loadSAM2StandIn(t, Options{})
	s.opts.Memories = 0
	v, _ := sam2MovingScene(t)
	res, err := s.Propagate(context.Background(), propagate.Request{
		Volume: v, Anchors: []propagate.Anchor{{Slice: sam2Anchor, Mask: sam2MovingDisc(sam2Anchor)}},
		Range: &propagate.SliceRange{From: sam2Anchor, To: sam2Last},
	})
	if err != nil {
		t.Fatal(err)
	}
	worst := 1.0
	for k := sam2Anchor + 1; k <= sam2Last; k++ {
		d := 0.0 // undecided: the chain lost the disc and stopped
		for _, r := range res.Slices {
			if r.Slice == k {
				d = section.Dice(r.Mask, sam2MovingDisc(k))
			}
		}
		t.Logf("slice %d: Dice %.2f", k, d)
		worst = min(worst, d)
	}
	if worst > 0.5 {
		t.Fatalf("the disc was followed (worst Dice %.2f) from the anchor's memory alone", worst)
	}
}

// Between two anchors each slice is predicted from both and the nearer
// anchor wins: with the lower anchor on the left disc and the upper one on
// the right disc (both there on every slice), the slices near the lower
// anchor get the left disc and those near the upper one the right disc,
// each decided once, after both chains reached it, with a confidence
// lowered by the two chains' disagreement.
func TestSAM2BetweenAnchors(t *testing.T) {
	s := loadSAM2StandIn(t, Options{})
	left, right := sam2Disc(64, 64, 32, 16, 6), sam2Disc(64, 64, 32, 48, 6)
	v, _ := sam2Scene(t, 16, func(k, r, c int) float32 {
		if left.Data[r*64+c] || right.Data[r*64+c] {
			return 200
		}
		return -1000
	})
	var order []int
	res, err := s.Propagate(context.Background(), propagate.Request{
		Volume: v, Range: &propagate.SliceRange{From: 4, To: 12},
		Anchors: []propagate.Anchor{{Slice: 12, Mask: right}, {Slice: 4, Mask: left}},
		OnSlice: func(r propagate.SliceResult) { order = append(order, r.Slice) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{4, 12, 11, 10, 9, 8, 7, 6, 5}; !slices.Equal(order, want) {
		t.Fatalf("slices decided in the order %v, want %v", order, want)
	}
	if got, _ := res.Range(); got != (propagate.SliceRange{From: 4, To: 12}) || len(res.Slices) != 9 {
		t.Fatalf("decided %v (%d slices), want 4..12", got, len(res.Slices))
	}
	for _, r := range res.Slices {
		if r.Anchor {
			continue
		}
		var want *section.Mask
		switch {
		case r.Slice < 8:
			want = left
		case r.Slice > 8:
			want = right
		default:
			continue // equidistant: a tie
		}
		if d := section.Dice(r.Mask, want); d < 0.95 {
			t.Errorf("slice %d: Dice %.3f with the nearer anchor's disc", r.Slice, d)
		}
		if r.Confidence > 0.55 {
			t.Errorf("slice %d: confidence %.2f although the two chains disagree", r.Slice, r.Confidence)
		}
	}
}

// A prior removes pixels it rules out and never adds any.
func TestSAM2Prior(t *testing.T) {
	s := loadSAM2StandIn(t, Options{})
	v, _ := sam2MovingScene(t)
	res, err := s.Propagate(context.Background(), propagate.Request{
		Volume: v, Anchors: []propagate.Anchor{{Slice: sam2Anchor, Mask: sam2MovingDisc(sam2Anchor)}},
		Range: &propagate.SliceRange{From: sam2Anchor - 1, To: sam2Anchor + 2},
		Prior: sam2HalfPrior{},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Slices {
		if r.Anchor {
			continue
		}
		truth := sam2MovingDisc(r.Slice)
		for i, on := range r.Mask.Data {
			if on && i/64 < 40 {
				t.Fatalf("slice %d keeps pixel (%d, %d), where the prior is 0", r.Slice, i/64, i%64)
			}
		}
		if n := r.Mask.Area(); n < truth.Area()/2 || sam2Overlap(r.Mask, truth) != n {
			t.Errorf("slice %d: %d pixels, %d of them on the disc of %d", r.Slice, n, sam2Overlap(r.Mask, truth), truth.Area())
		}
	}
}

// sam2HalfPrior says the structure can only be in rows 40 and below (the
// moving disc's lower half).
type sam2HalfPrior struct{}

func (sam2HalfPrior) Probability(_ context.Context, _ int) ([]float32, error) {
	p := make([]float32, 64*64)
	for i := range p {
		if i/64 >= 40 {
			p[i] = 1
		}
	}
	return p, nil
}

// Cancelling stops the propagation between slices with the context's
// error, and a cancelled context runs nothing.
func TestSAM2Cancel(t *testing.T) {
	s := loadSAM2StandIn(t, Options{})
	v, _ := sam2MovingScene(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := 0
	_, err := s.Propagate(ctx, propagate.Request{
		Volume: v, Anchors: []propagate.Anchor{{Slice: sam2Anchor, Mask: sam2MovingDisc(sam2Anchor)}},
		OnSlice: func(propagate.SliceResult) {
			seen++
			if seen == 3 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if seen != 3 {
		t.Errorf("%d slices decided, want 3 (none after the cancel)", seen)
	}
	seen = 0
	if _, err := s.Propagate(ctx, propagate.Request{
		Volume: v, Anchors: []propagate.Anchor{{Slice: sam2Anchor, Mask: sam2MovingDisc(sam2Anchor)}},
		OnSlice: func(propagate.SliceResult) { seen++ },
	}); !errors.Is(err, context.Canceled) || seen != 0 {
		t.Fatalf("cancelled context: got %v after %d slices", err, seen)
	}
}

// A folder that is not the export is refused naming the file and what is
// wrong with it.
func TestSAM2Folder(t *testing.T) {
	rt := modeltest.Runtime(t)
	good := exportSAM2StandIn(t, "")
	if _, err := WriteManifests(rt, good); err != nil {
		t.Fatal(err)
	}
	copyDir := func(t *testing.T) string {
		dir := t.TempDir()
		ents, err := os.ReadDir(good)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(good, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	edit := func(t *testing.T, path string, f func(string) string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(f(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		make func(t *testing.T) string
		has  []string
		is   error
	}{
		{"missing folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, []string{"nope"}, nil},
		{"no manifests", func(t *testing.T) string { return exportSAM2StandIn(t, "") },
			[]string{"sam2-image-encoder.json", "polyseg sam2-manifests"}, nil},
		{"missing model file", func(t *testing.T) string {
			dir := copyDir(t)
			os.Remove(filepath.Join(dir, "memory_encoder.onnx"))
			return dir
		}, []string{"memory_encoder.onnx"}, os.ErrNotExist},
		{"damaged model file", func(t *testing.T) string {
			dir := copyDir(t)
			edit(t, filepath.Join(dir, "mask_decoder.onnx"), func(s string) string { return s + "x" })
			return dir
		}, []string{"mask_decoder.onnx"}, models.ErrChecksum},
		{"manifest of another export", func(t *testing.T) string {
			dir := copyDir(t)
			edit(t, filepath.Join(dir, "sam2-memory-attention.json"), func(s string) string {
				return strings.Replace(s, `"memory_0"`, `"obj_ptrs"`, 1)
			})
			return dir
		}, []string{"sam2-memory-attention.json", "obj_ptrs", "memory_0"}, nil},
		{"manifests swapped", func(t *testing.T) string {
			dir := copyDir(t)
			b, _ := os.ReadFile(filepath.Join(dir, "sam2-mask-decoder.json"))
			os.WriteFile(filepath.Join(dir, "sam2-memory-encoder.json"), b, 0o644)
			return dir
		}, []string{"sam2-memory-encoder.json", "sam2-mask-decoder"}, nil},
		{"encoder preprocessing not SAM 2's", func(t *testing.T) string {
			dir := copyDir(t)
			edit(t, filepath.Join(dir, "sam2-image-encoder.json"), func(s string) string {
				return strings.Replace(s, `"normalize": "sam"`, `"normalize": "window01"`, 1)
			})
			return dir
		}, []string{"sam2-image-encoder.json", "window01"}, nil},
		{"model file of another export", func(t *testing.T) string {
			dir := copyDir(t)
			other := exportSAM2StandIn(t, "no-occ")
			b, _ := os.ReadFile(filepath.Join(other, "mask_decoder.onnx"))
			os.WriteFile(filepath.Join(dir, "mask_decoder.onnx"), b, 0o644)
			// Its manifest now has the right checksum but the export's
			// signature, which the file does not have.
			sum, _ := sam2FileSHA256(filepath.Join(dir, "mask_decoder.onnx"))
			edit(t, filepath.Join(dir, "sam2-mask-decoder.json"), func(s string) string {
				i := strings.Index(s, `"sha256": "`) + len(`"sha256": "`)
				return s[:i] + sum + s[i+64:]
			})
			return dir
		}, []string{"mask_decoder.onnx", "occ_logit"}, models.ErrSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(rt, tc.make(t), Options{})
			if err == nil {
				s.Close()
				t.Fatal("loaded")
			}
			for _, h := range tc.has {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("error %q does not mention %q", err, h)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}

	// Manifests are not written for a folder that is not the export.
	other := exportSAM2StandIn(t, "no-occ")
	_, err := WriteManifests(rt, other)
	if err == nil || !strings.Contains(err.Error(), "mask_decoder.onnx") || !strings.Contains(err.Error(), "output") {
		t.Fatalf("manifests for a decoder without occ_logit: %v", err)
	}
	if ms, _ := filepath.Glob(filepath.Join(other, "*.json")); len(ms) != 0 {
		t.Errorf("manifests written for a refused folder: %v", ms)
	}
	os.Remove(filepath.Join(good, "image_encoder.onnx"))
	if _, err := WriteManifests(rt, good); err == nil || !strings.Contains(err.Error(), "image_encoder.onnx") {
		t.Errorf("manifests without the image encoder: %v", err)
	}
}

// Encoder outputs kept on disk are served to a later engine unchanged; a
// damaged file is recomputed.
func TestSAM2FrameCacheDisk(t *testing.T) {
	cache := t.TempDir()
	s := loadSAM2StandIn(t, Options{CacheDir: cache})
	v, sl := sam2MovingScene(t)
	img, err := sl.Image(v, 5)
	if err != nil {
		t.Fatal(err)
	}
	w := models.Window{Level: 40, Width: 400}
	f, err := s.encode(context.Background(), img, 64, 64, w)
	if err != nil {
		t.Fatal(err)
	}
	path := s.cache.Path(f.key)
	fresh := newSAM2FrameCache(4, cache, s.sharedPos)
	read, ok := fresh.Get(f.key)
	if !ok {
		t.Fatal("the frame written was not read back")
	}
	for i, p := range sam2FrameParts(f) {
		if !slices.Equal(*p.data, *sam2FrameParts(read)[i].data) {
			t.Fatalf("array %d differs after the disk round trip", i)
		}
	}
	// Damage the file: it is not used.
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)-4], 0o600)
	fresh = newSAM2FrameCache(4, cache, s.sharedPos)
	if _, ok := fresh.Get(f.key); ok {
		t.Fatal("a truncated cache file was served")
	}
	if f2, err := s.encode(context.Background(), img, 64, 64, models.Window{Level: 41, Width: 400}); err != nil || f2.key == f.key {
		t.Fatalf("another window gave the same key (%v)", err)
	}
}

// The memory bank is laid out as the export's memory attention takes it:
// the conditioning frame first with the last temporal slot, then the
// recent slices from the farthest to the nearest, slot d-1 for d slices
// away; the pointers of the conditioning frame and then of the recent
// slices from the nearest on; zero rows for the pointers' positions.
func TestSAM2BankLayout(t *testing.T) {
	temporal := make([]float32, 7*sam2MemDim)
	for i := range temporal {
		temporal[i] = float32(100 * (i/sam2MemDim + 1))
	}
	mem := func(k int) *sam2Memory {
		m := &sam2Memory{slice: k, feat: make([]float32, sam2MemDim*sam2Grid*sam2Grid),
			pos: make([]float32, sam2Grid*sam2Grid*sam2MemDim), pointer: make([]float32, sam2Channels)}
		for i := range m.feat {
			m.feat[i], m.pos[i] = float32(k), float32(k)
		}
		for i := range m.pointer {
			m.pointer[i] = float32(k)
		}
		return m
	}
	for _, dir := range []int{+1, -1} {
		b := newSAM2Bank(mem(50), 6, temporal)
		for j := 1; j <= 20; j++ {
			b.push(mem(50 + dir*j))
		}
		k := 50 + dir*21
		a, err := b.inputs(k)
		if err != nil {
			t.Fatal(err)
		}
		frames := []int{50}
		for d := 6; d >= 1; d-- {
			frames = append(frames, k-dir*d)
		}
		per := sam2MemDim * sam2Grid * sam2Grid
		if len(a.memories) != len(frames)*per {
			t.Fatalf("dir %d: %d memories, want %d", dir, len(a.memories)/per, len(frames))
		}
		for i, f := range frames {
			if got := a.memories[i*per]; got != float32(f) {
				t.Errorf("dir %d: memory %d is slice %v, want %d", dir, i, got, f)
			}
			slot := 6 // the conditioning frame's
			if i > 0 {
				slot = max(k-f, f-k) - 1
			}
			if got, want := a.pos[i*per+5], float32(f)+float32(100*(slot+1)); got != want {
				t.Errorf("dir %d: position of memory %d (slice %d) is %v, want %v (temporal slot %d)", dir, i, f, got, want, slot)
			}
		}
		ptrs := []int{50}
		for d := 1; d <= 15; d++ {
			ptrs = append(ptrs, k-dir*d)
		}
		if len(a.pointers) != len(ptrs)*sam2Channels {
			t.Fatalf("dir %d: %d pointers, want %d", dir, len(a.pointers)/sam2Channels, len(ptrs))
		}
		for i, p := range ptrs {
			if got := a.pointers[i*sam2Channels]; got != float32(p) {
				t.Errorf("dir %d: pointer %d is slice %v, want %d", dir, i, got, p)
			}
		}
		tail := a.pos[len(frames)*per:]
		if len(tail) != 4*len(ptrs)*sam2MemDim || slices.ContainsFunc(tail, func(x float32) bool { return x != 0 }) {
			t.Errorf("dir %d: %d pointer position values, not all zero; want %d zeros", dir, len(tail), 4*len(ptrs)*sam2MemDim)
		}
		if a.condDiff != 21 {
			t.Errorf("dir %d: cond_frame_id_diff %v, want 21", dir, a.condDiff)
		}
	}
	// Early in a chain there are fewer memories and pointers.
	b := newSAM2Bank(mem(50), 6, temporal)
	b.push(mem(51))
	a, err := b.inputs(52)
	if err != nil || len(a.pointers) != 2*sam2Channels || a.condDiff != 2 ||
		len(a.pos) != (2*sam2Grid*sam2Grid+8)*sam2MemDim || a.pos[sam2Grid*sam2Grid*sam2MemDim] != 51+100 {
		t.Errorf("second slice of a chain: %v, %d pointers, diff %v", err, len(a.pointers)/sam2Channels, a.condDiff)
	}
	// A bank asked about a slice its chain did not reach refuses.
	if _, err := b.inputs(54); err == nil {
		t.Error("a gap in the chain was laid out")
	}
}

// Masks and boxes map onto the 1024² square SAM 2 stretches a slice to.
func TestSAM2Geometry(t *testing.T) {
	m := section.NewMask(2, 4) // 2 rows, 4 columns: each pixel is 512 x 256 cells
	m.Data[1*4+2] = true
	mm := sam2MaskForMem(m)
	for _, p := range []struct {
		y, x int
		on   bool
	}{{512, 512, true}, {1023, 767, true}, {511, 600, false}, {600, 511, false}, {600, 768, false}} {
		if got := mm[p.y*sam2Size+p.x] > 0; got != p.on {
			t.Errorf("cell (%d, %d): %v, want %v", p.y, p.x, got, p.on)
		}
	}
	coords, labels, ok := sam2BoxPrompt(m)
	if !ok || !slices.Equal(coords, []float32{512, 512, 512, 512}) || !slices.Equal(labels, []float32{2, 3}) {
		t.Errorf("box prompt %v %v", coords, labels)
	}
	if _, _, ok := sam2BoxPrompt(section.NewMask(3, 3)); ok {
		t.Error("a box for an empty mask")
	}
}

// A window that cannot map HU to grey is refused before any model runs.
func TestSAM2BadWindow(t *testing.T) {
	s := loadSAM2StandIn(t, Options{})
	v, _ := sam2MovingScene(t)
	for _, w := range []models.Window{{Level: 40, Width: 0}, {Level: 40, Width: math.NaN()}, {Level: math.Inf(1), Width: 400}} {
		seen := 0
		_, err := s.Propagate(context.Background(), propagate.Request{
			Volume: v, Window: &w, Anchors: []propagate.Anchor{{Slice: sam2Anchor, Mask: sam2MovingDisc(sam2Anchor)}},
			OnSlice: func(propagate.SliceResult) { seen++ },
		})
		if err == nil || !strings.Contains(err.Error(), "window") || seen != 0 {
			t.Errorf("window %v: got %v after %d slices", w, err, seen)
		}
	}
}
