package sam

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadEmbeddingRejectsNonFinite writes cache files (none kept in
// memory) and reads them back:
// one holding NaN or an infinity (as older builds cached for slices with
// NaN voxels) is refused, so that it is recomputed.
func TestReadEmbeddingRejectsNonFinite(t *testing.T) {
	tests := []struct {
		name string
		bad  float32
		ok   bool
	}{
		{"finite", 0.25, true},
		{"NaN", float32(math.NaN()), false},
		{"+Inf", float32(math.Inf(1)), false},
		{"-Inf", float32(math.Inf(-1)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Embedding{Rows: 8, Cols: 9, Key: "abcdef", Data: make([]float32, samChannels*samGrid*samGrid)}
			e.Data[len(e.Data)/2] = tt.bad
			c := newEmbeddingCache(0, t.TempDir(), 0)
			c.Put(e.Key, e)
			c.Close()
			got, ok := c.Get(e.Key)
			if ok != tt.ok {
				t.Fatalf("read back: %v, want %v", ok, tt.ok)
			}
			got = got.expanded()
			if tt.ok && (got.Rows != 8 || got.Cols != 9 || got.Data[len(got.Data)/2] != tt.bad) {
				t.Errorf("read back %dx%d, value %v", got.Rows, got.Cols, got.Data[len(got.Data)/2])
			}
		})
	}
}

// TestHalfPrecisionRoundTrip writes embeddings of SAM-like values through
// the cache file's codec: each value comes back within half precision's
// rounding (a relative 2^-11 for normal numbers), and a value beyond its
// range is refused rather than stored as an infinity.
func TestHalfPrecisionRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := &Embedding{Rows: 512, Cols: 480, Key: "k", Data: make([]float32, embeddingValues)}
	for i := range e.Data {
		e.Data[i] = float32(rng.NormFloat64() * 0.4)
	}
	e.Data[0], e.Data[1], e.Data[2] = 0, -3000.5, 1e-6 // zero, large, subnormal in half precision
	var c embeddingCodec
	b, err := c.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 8+2*embeddingValues {
		t.Errorf("file body of %d bytes, want %d (2 per value)", len(b), 8+2*embeddingValues)
	}
	got, err := c.Unmarshal("k", b)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.Marshal(got); err != nil || !slices.Equal(again, b) {
		t.Errorf("a file read and written again differs (%v)", err)
	}
	got = got.expanded()
	if got.Rows != 512 || got.Cols != 480 {
		t.Errorf("size %dx%d", got.Rows, got.Cols)
	}
	for i, v := range e.Data {
		d := math.Abs(float64(got.Data[i] - v))
		// Below 2^-14 half precision is subnormal: an absolute 2^-25.
		if d > math.Abs(float64(v))/2048+1.0/(1<<25) {
			t.Fatalf("value %d: %g came back as %g", i, v, got.Data[i])
		}
	}
	// Rounding a fresh embedding (roundHalf) gives what the file gives.
	fresh := slices.Clone(e.Data)
	roundHalf(fresh)
	if !slices.Equal(fresh, got.Data) {
		t.Error("roundHalf and the file disagree")
	}
	e.Data[5] = 70000 // beyond 65504
	b, _ = c.Marshal(e)
	if _, err := c.Unmarshal("k", b); err == nil {
		t.Error("a value beyond half precision's range was read back")
	}
}

// TestMemoryBound: the embeddings kept in memory are bounded by their
// size (4 MiB each), and one dropped from memory still comes from its
// file.
func TestMemoryBound(t *testing.T) {
	dir := t.TempDir()
	c := newEmbeddingCache(2*embeddingMemory+embeddingMemory/2, dir, 0)
	keys := []string{strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)}
	for i, k := range keys {
		c.Put(k, &Embedding{Rows: i + 1, Cols: 1, Key: k, Data: make([]float32, embeddingValues)})
	}
	c.Close() // the files are written
	inMemory := 0
	for _, k := range keys {
		if _, err := os.Stat(filepath.Join(dir, k[:2], k+embeddingExt)); err != nil {
			t.Errorf("%s: no file: %v", k[:4], err)
		}
		// Remove the file: Get then answers from memory alone.
		os.Remove(filepath.Join(dir, k[:2], k+embeddingExt))
		if _, ok := c.Get(k); ok {
			inMemory++
		}
	}
	if inMemory != 2 {
		t.Errorf("%d embeddings in memory, want 2 (a bound of 2.5 embeddings' bytes)", inMemory)
	}
}

// The memory cache keeps a rounded embedding in half the memory and gives
// back exactly its values: compact and expanded lose nothing of an
// embedding rounded to half precision, and one in full precision is kept
// as it is.
func TestCompactEmbedding(t *testing.T) {
	e := &Embedding{Rows: 3, Cols: 4, Key: "k", Data: make([]float32, embeddingValues)}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range e.Data {
		e.Data[i] = float32(rng.NormFloat64())
	}
	e.Data[0], e.Data[1] = 0, -3000.5
	full := slices.Clone(e.Data)
	if c := e.compact(false); c != e {
		t.Error("a full-precision embedding was converted")
	}
	roundHalf(e.Data)
	c := e.compact(true)
	var codec embeddingCodec
	if c.Data != nil || codec.Size(c) != embeddingHalfMemory || codec.Size(e) != embeddingMemory {
		t.Errorf("compact form: %d float32 values, %d bytes counted", len(c.Data), codec.Size(c))
	}
	x := c.expanded()
	if x.Rows != 3 || x.Cols != 4 || x.Key != "k" || !slices.Equal(x.Data, e.Data) {
		t.Error("expanded values differ from the rounded ones")
	}
	if slices.Equal(x.Data, full) {
		t.Error("the test's values were half-precision already: it checks nothing")
	}
	b1, err1 := codec.Marshal(e)
	b2, err2 := codec.Marshal(c)
	if err1 != nil || err2 != nil || !slices.Equal(b1, b2) {
		t.Errorf("the file of the compact form differs (%v, %v)", err1, err2)
	}
}
