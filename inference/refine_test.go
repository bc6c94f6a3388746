package inference

import (
	"os"
	"path/filepath"
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
