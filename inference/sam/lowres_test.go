package sam

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/inference/section"
)

func TestLowResLogitsGeometry(t *testing.T) {
	s := &Model{size: 1024}
	// A 512x256 (rows x cols) slice: scale 2, so it fills the left half of
	// the encoder's square; a low-res cell is 2 slice pixels.
	m := section.NewMask(512, 256)
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
	c := newEmbeddingCache(embeddingMemory, dir, 0)
	key := strings.Repeat("ab", 32)
	e := &Embedding{Data: make([]float32, samChannels*samGrid*samGrid), Rows: 3, Cols: 4, Key: key}
	e.Data[7] = 1.5
	c.Put(e.Key, e)
	// A second key evicts the first from memory; the disk still has it.
	c.Put(strings.Repeat("cd", 32), &Embedding{Data: e.Data, Rows: 1, Cols: 1, Key: strings.Repeat("cd", 32)})
	// Written or still queued, the evicted one is found.
	if got, ok := c.Get(key); !ok || got.Rows != 3 {
		t.Fatalf("evicted embedding not found while its file is written: %+v", got)
	}
	c.Close()
	fresh := newEmbeddingCache(embeddingMemory, dir, 0)
	got, ok := fresh.Get(key)
	got = got.expanded()
	if !ok || got.Rows != 3 || got.Cols != 4 || got.Data[7] != 1.5 {
		t.Fatalf("disk round trip gave %+v", got)
	}
	// A truncated file is ignored, not trusted.
	p := filepath.Join(dir, key[:2], key+embeddingExt)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := newEmbeddingCache(embeddingMemory, dir, 0).Get(key); ok {
		t.Fatalf("truncated cache file was used")
	}
}
