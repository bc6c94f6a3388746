package sam

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/x448/float16"

	"github.com/polyseg/polyseg/inference/embedcache"
)

// embeddingMagic starts every cache file; the version digit changes when
// the layout does. Files of the float32 layout (PSEMB001, ".emb") are
// another cache's: never read, never evicted by this one.
const embeddingMagic = "PSEMB002"

// embeddingExt ends the cache files' names.
const embeddingExt = ".emb16"

// embeddingValues is the number of values of an embedding.
const embeddingValues = samChannels * samGrid * samGrid

// embeddingBytes is the size of a cache file's body: the slice's rows and
// columns, then the embedding as little-endian IEEE 754 half-precision
// floats (2 MiB; float32 took 4). Half precision keeps 11 significant
// bits, about 3 decimal digits, which SAM's decoder does not notice: the
// masks decoded from a half-precision embedding agree with the float32
// ones (TestFloat16Masks, docs/benchmarks.md).
const embeddingBytes = 8 + 2*embeddingValues

// embeddingMemory is what an embedding costs in memory with float32
// values, for the memory bound; embeddingHalfMemory with half-precision
// ones, as the memory cache keeps those it was given rounded.
const (
	embeddingMemory     = 4 * embeddingValues
	embeddingHalfMemory = 2 * embeddingValues
)

// compact returns e as the memory cache keeps it: its values as
// half-precision bits when they are rounded to half precision already
// (Model.fullPrecision false), which loses nothing and halves its memory,
// else e itself.
func (e *Embedding) compact(rounded bool) *Embedding {
	if !rounded || e.half != nil {
		return e
	}
	c := &Embedding{Rows: e.Rows, Cols: e.Cols, Key: e.Key, half: make([]uint16, len(e.Data))}
	for i, v := range e.Data {
		c.half[i] = uint16(float16.Fromfloat32(v))
	}
	return c
}

// expanded returns e with float32 values, as the decoder takes them: e
// itself when it has them, else a copy (a compact one stays as the cache
// holds it, shared by every caller).
func (e *Embedding) expanded() *Embedding {
	if e == nil || e.half == nil {
		return e
	}
	x := &Embedding{Rows: e.Rows, Cols: e.Cols, Key: e.Key, Data: make([]float32, len(e.half))}
	for i, h := range e.half {
		x.Data[i] = float16.Frombits(h).Float32()
	}
	return x
}

// newEmbeddingCache returns the cache of slice embeddings: at most
// memBytes of them in memory, and files in dir ("" for none), at most
// diskBytes of them (0: no bound), written behind the encoder, since
// waiting for the disk would hold up the encoder, whose next slice is the
// one the user waits for.
func newEmbeddingCache(memBytes int64, dir string, diskBytes int64) *embedcache.Cache[*Embedding] {
	return embedcache.New[*Embedding](embedcache.Options{
		Dir: dir, Magic: embeddingMagic, Ext: embeddingExt, MemoryBytes: memBytes, DiskBytes: diskBytes, WriteBehind: true,
	}, embeddingCodec{})
}

// embeddingCodec is the layout of an embedding's cache file.
type embeddingCodec struct{}

func (embeddingCodec) Size(e *Embedding) int64 {
	if e.half != nil {
		return embeddingHalfMemory
	}
	return embeddingMemory
}

func (embeddingCodec) Marshal(e *Embedding) ([]byte, error) {
	if len(e.Data) != embeddingValues && len(e.half) != embeddingValues {
		return nil, fmt.Errorf("embedding %s has %d values", e.Key, max(len(e.Data), len(e.half)))
	}
	buf := make([]byte, embeddingBytes)
	binary.LittleEndian.PutUint32(buf, uint32(e.Rows))
	binary.LittleEndian.PutUint32(buf[4:], uint32(e.Cols))
	out := buf[8:]
	if e.half != nil {
		for i, h := range e.half {
			binary.LittleEndian.PutUint16(out[2*i:], h)
		}
		return buf, nil
	}
	for i, v := range e.Data {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(float16.Fromfloat32(v)))
	}
	return buf, nil
}

func (embeddingCodec) Unmarshal(key string, b []byte) (*Embedding, error) {
	if len(b) != embeddingBytes {
		return nil, fmt.Errorf("embedding of %d bytes, want %d", len(b), embeddingBytes)
	}
	e := &Embedding{
		Rows: int(binary.LittleEndian.Uint32(b)),
		Cols: int(binary.LittleEndian.Uint32(b[4:])),
		Key:  key,
		half: make([]uint16, embeddingValues),
	}
	in := b[8:]
	for i := range e.half {
		h := binary.LittleEndian.Uint16(in[2*i:])
		// An embedding value beyond half precision's range (65504) was
		// written as an infinity; a NaN comes from a slice with NaN
		// voxels in builds that did not window them as air. Recompute.
		if v := float16.Frombits(h).Float32(); math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("value %d is %v", i, v)
		}
		e.half[i] = h
	}
	return e, nil
}
