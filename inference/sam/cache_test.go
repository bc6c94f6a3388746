package sam

import (
	"math"
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
			c := newEmbeddingCache(0, t.TempDir())
			c.Put(e.Key, e)
			c.Close()
			got, ok := c.Get(e.Key)
			if ok != tt.ok {
				t.Fatalf("read back: %v, want %v", ok, tt.ok)
			}
			if tt.ok && (got.Rows != 8 || got.Cols != 9 || got.Data[len(got.Data)/2] != tt.bad) {
				t.Errorf("read back %dx%d, value %v", got.Rows, got.Cols, got.Data[len(got.Data)/2])
			}
		})
	}
}
