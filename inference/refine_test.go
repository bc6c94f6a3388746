package inference

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maskOf parses rows of '#' (set) and '.' (clear).
func maskOf(rows ...string) *Mask2D {
	m := NewMask2D(len(rows), len(rows[0]))
	for r, s := range rows {
		for c, ch := range s {
			m.Data[r*m.Cols+c] = ch == '#'
		}
	}
	return m
}

func TestComponents2D(t *testing.T) {
	tests := []struct {
		name string
		m    *Mask2D
		want int
	}{
		{"empty", maskOf("...", "..."), 0},
		{"diagonal touch is one", maskOf("#..", ".#.", "..#"), 1},
		{"two blobs", maskOf("##..#", "##..#"), 2},
		{"ring", maskOf("###", "#.#", "###"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, n := components2D(tc.m); n != tc.want {
				t.Errorf("%d components, want %d", n, tc.want)
			}
		})
	}
}

func TestKeepLargest3D(t *testing.T) {
	d := [3]int{4, 3, 2}
	on := make([]bool, 24)
	set := func(i, j, k int) { on[i+4*(j+3*k)] = true }
	// Component 1: three voxels in a column through both slices and j;
	// component 2: one voxel only diagonally adjacent (not 6-connected).
	set(0, 0, 0)
	set(0, 0, 1)
	set(0, 1, 1)
	set(1, 2, 1)
	if removed := keepLargest3D(on, d); removed != 1 {
		t.Fatalf("removed %d voxels, want 1", removed)
	}
	if on[1+4*(2+3*1)] || !on[0] || !on[0+4*(0+3*1)] || !on[0+4*(1+3*1)] {
		t.Errorf("wrong component kept: %v", on)
	}
}

func TestJudge(t *testing.T) {
	// A 10x10 image: organ at 50 HU with some texture, fat at -100 HU in
	// the right half of the last rows.
	img := make([]float32, 100)
	for i := range img {
		img[i] = float32(50 + (i%3-1)*5)
		if i/10 >= 7 && i%10 >= 5 {
			img[i] = -100
		}
	}
	coarse := maskOf(
		"..........",
		"..######..",
		"..######..",
		"..######..",
		"..######..",
		"..........",
		"..........",
		"..........",
		"..........",
		"..........")
	grown := maskOf(
		"..........",
		"..######..",
		"..######..",
		"..######..",
		"..######..",
		"..######..",
		"..........",
		"..........",
		"..........",
		"..........")
	leak := maskOf(
		"..........",
		"..######..",
		"..######..",
		"..######..",
		"..########",
		"..########",
		"..########",
		"..########",
		"..########",
		"..........")
	far := maskOf(
		"..........",
		"..........",
		"..........",
		"..........",
		"..........",
		"..........",
		"..........",
		"........##",
		"........##",
		"..........")
	opts := RefineOptions{}.withDefaults()
	tests := []struct {
		name string
		sam  *Mask2D
		iou  float32
		want Decision
	}{
		{"plausible growth", grown, 0.9, Replaced},
		{"unsure", grown, 0.3, KeptLowIoU},
		{"area more than doubles", leak, 0.9, KeptArea},
		{"nothing on the component", far, 0.9, KeptEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := judge(img, coarse, &Prediction{Mask: tc.sam, IoU: tc.iou}, opts); got != tc.want {
				t.Errorf("decision %v, want %v", got, tc.want)
			}
		})
	}
	// Growth of about a third into fat: the area rule lets it pass, the
	// intensity rule must not.
	opts.MaxAreaChange = 10
	if got := judge(img, coarse, &Prediction{Mask: leak, IoU: 0.9}, opts); got != KeptIntensity {
		t.Errorf("leak into fat: decision %v, want %v", got, KeptIntensity)
	}
}

func TestTrimRemovesFatAtTheEdge(t *testing.T) {
	img := make([]float32, 100)
	for i := range img {
		img[i] = float32(60 + (i%2)*10)
		if i%10 == 8 { // a column of fat
			img[i] = -100
		}
	}
	m := maskOf(
		"..........",
		".#########",
		".#########",
		".#########",
		".#########",
		".#########",
		".#########",
		".#########",
		".#########",
		"..........")
	got := trim(img, m, m, 3)
	for r := 1; r <= 8; r++ {
		if got.Data[r*10+8] {
			t.Errorf("fat pixel (%d, 8) kept", r)
		}
		if !got.Data[r*10+4] {
			t.Errorf("organ pixel (%d, 4) trimmed", r)
		}
		if got.Data[r*10+9] {
			t.Errorf("pixel (%d, 9), cut off from the core by the fat, kept", r)
		}
	}
}

func TestLowResLogitsGeometry(t *testing.T) {
	s := &SAM{size: 1024}
	// A 512x256 (rows x cols) slice: scale 2, so it fills the left half of
	// the encoder's square; a low-res cell is 2 slice pixels.
	m := NewMask2D(512, 256)
	for r := 100; r < 200; r++ {
		for c := 50; c < 150; c++ {
			m.Data[r*256+c] = true
		}
	}
	lr := s.LowResLogits(m, 10)
	at := func(v, u int) float32 { return lr[v*256+u] }
	cases := []struct {
		v, u int
		in   bool
	}{
		{50, 25, true}, {99, 74, true}, {49, 25, false}, {100, 25, false}, {50, 24, false}, {50, 75, false},
		{10, 200, false}, // padding right of the image
	}
	for _, c := range cases {
		if got := at(c.v, c.u) > 0; got != c.in {
			t.Errorf("cell (%d, %d): inside %v, want %v", c.v, c.u, got, c.in)
		}
	}
}

func TestEmbeddingCacheDisk(t *testing.T) {
	dir := t.TempDir()
	c := newEmbeddingCache(1, dir)
	key := strings.Repeat("ab", 32)
	e := &Embedding{Data: make([]float32, samChannels*samGrid*samGrid), Rows: 3, Cols: 4, Key: key}
	e.Data[7] = 1.5
	c.put(e)
	// A second key evicts the first from memory; the disk still has it.
	c.put(&Embedding{Data: e.Data, Rows: 1, Cols: 1, Key: strings.Repeat("cd", 32)})
	// Written or still queued, the evicted one is found.
	if got := c.get(key); got == nil || got.Rows != 3 {
		t.Fatalf("evicted embedding not found while its file is written: %+v", got)
	}
	c.close()
	fresh := newEmbeddingCache(1, dir)
	got := fresh.get(key)
	if got == nil || got.Rows != 3 || got.Cols != 4 || got.Data[7] != 1.5 {
		t.Fatalf("disk round trip gave %+v", got)
	}
	// A truncated file is ignored, not trusted.
	p := filepath.Join(dir, key[:2], key+".emb")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if got := newEmbeddingCache(1, dir).get(key); got != nil {
		t.Fatalf("truncated cache file was used")
	}
}

// windowed8Bit is a slice as an 8-bit windowed export stores it (another
// dataset's case, issue 7): an organ saturated near the top of the window,
// so its core varies by one grey level, a one-pixel rim of partial-volume
// pixels a few grey levels darker, and other tissue around it. The organ,
// rim included, is both the reference and the coarse mask.
func windowed8Bit() (img []float32, organ *Mask2D) {
	const n = 24
	img = make([]float32, n*n)
	organ = NewMask2D(n, n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			dr, dc := float64(r-11), float64(c-11)
			organ.Data[r*n+c] = dr*dr+dc*dc <= 8*8
			img[r*n+c] = 100
		}
	}
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			i := r*n + c
			if !organ.Data[i] {
				continue
			}
			img[i] = float32(254 + (r+c)%2)
			// A pixel with a 4-neighbour outside the organ is on the rim.
			for _, q := range []int{i - 1, i + 1, i - n, i + n} {
				if !organ.Data[q] {
					img[i] = 247
				}
			}
		}
	}
	return img, organ
}

// TestSettleKeptIsUnchanged is the regression test for issue 7, item 8: when
// SAM's answer is rejected the coarse component must come back as it was.
// Before the fix the edge trim still ran on it and, with the core's spread
// of one grey level, cut the whole partial-volume rim off (Dice against the
// reference 1 -> 0.87 here).
func TestSettleKeptIsUnchanged(t *testing.T) {
	img, organ := windowed8Bit()
	// Sanity check of the case itself: the trim does cut this mask.
	if d := dice2D(trim(img, organ, organ, DefaultTrimStd), organ); d > 0.95 {
		t.Fatalf("the trim leaves the case nearly intact (Dice %.3f): the test would prove nothing", d)
	}
	everything := NewMask2D(organ.Rows, organ.Cols)
	for i := range everything.Data {
		everything.Data[i] = true
	}
	// The organ plus a block of the surrounding tissue, a third of its area:
	// within the area rule, caught by the intensity rule.
	intoTissue := NewMask2D(organ.Rows, organ.Cols)
	copy(intoTissue.Data, organ.Data)
	for r := 0; r < 24; r++ {
		for c := 20; c < 24; c++ {
			intoTissue.Data[r*24+c] = true
		}
	}
	elsewhere := NewMask2D(organ.Rows, organ.Cols)
	elsewhere.Data[0] = true
	opts := RefineOptions{}.withDefaults()
	tests := []struct {
		name string
		sam  *Mask2D
		iou  float32
		want Decision
	}{
		{"low IoU", organ, 0.2, KeptLowIoU},
		{"area change", everything, 0.9, KeptArea},
		{"intensity", intoTissue, 0.9, KeptIntensity},
		{"empty", elsewhere, 0.9, KeptEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, got := settle(img, organ, &Prediction{Mask: tc.sam, IoU: tc.iou}, opts)
			if d != tc.want {
				t.Fatalf("decision %v, want %v", d, tc.want)
			}
			if !slices.Equal(got.Data, organ.Data) {
				t.Errorf("kept component changed: Dice against the coarse (and reference) mask %.3f, want it unchanged", dice2D(got, organ))
			}
		})
	}
}

// TestSettleReplacedKeepsCore: trimming SAM's answer never removes a pixel
// of the coarse core, and never adds one SAM did not give.
func TestSettleReplacedKeepsCore(t *testing.T) {
	img, organ := windowed8Bit()
	d, got := settle(img, organ, &Prediction{Mask: organ, IoU: 0.9}, RefineOptions{}.withDefaults())
	if d != Replaced {
		t.Fatalf("decision %v, want %v", d, Replaced)
	}
	core := erode2D(organ, 2)
	for i := range got.Data {
		if core.Data[i] && !got.Data[i] {
			t.Fatalf("core pixel (%d, %d) removed", i/organ.Cols, i%organ.Cols)
		}
		if got.Data[i] && !organ.Data[i] {
			t.Fatalf("pixel (%d, %d) added", i/organ.Cols, i%organ.Cols)
		}
	}
}

// TestTrimBounds checks on random slices that trim's result always lies
// between m ∩ core and m, whatever the intensities: it only ever removes
// pixels outside the coarse core.
func TestTrimBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 20
	for trial := 0; trial < 200; trial++ {
		img := make([]float32, n*n)
		coarse, m := NewMask2D(n, n), NewMask2D(n, n)
		r0, c0, rad := rng.IntN(n), rng.IntN(n), 2+rng.IntN(8)
		for i := range img {
			img[i] = float32(rng.NormFloat64() * 30)
			if rng.IntN(4) == 0 {
				img[i] = float32(rng.IntN(3)) // nearly constant pixels: a tiny std
			}
			r, c := i/n, i%n
			coarse.Data[i] = (r-r0)*(r-r0)+(c-c0)*(c-c0) <= rad*rad
			m.Data[i] = (coarse.Data[i] && rng.IntN(10) != 0) || rng.IntN(5) == 0
		}
		if coarse.Area() == 0 {
			continue
		}
		core := erode2D(coarse, 2)
		if core.Area() < defaultMinPixels {
			core = coarse
		}
		k := []float64{0.5, 1, 3}[trial%3]
		got := trim(img, coarse, m, k)
		for i := range got.Data {
			if got.Data[i] && !m.Data[i] {
				t.Fatalf("trial %d: pixel %d added", trial, i)
			}
			if m.Data[i] && core.Data[i] && !got.Data[i] {
				t.Fatalf("trial %d: core pixel %d removed", trial, i)
			}
		}
	}
}
