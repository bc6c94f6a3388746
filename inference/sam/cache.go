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

// embeddingMemory is what an embedding costs in memory (its float32
// values), for the memory bound.
const embeddingMemory = 4 * embeddingValues

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

func (embeddingCodec) Size(*Embedding) int64 { return embeddingMemory }

func (embeddingCodec) Marshal(e *Embedding) ([]byte, error) {
	if len(e.Data) != embeddingValues {
		return nil, fmt.Errorf("embedding %s has %d values", e.Key, len(e.Data))
	}
	buf := make([]byte, embeddingBytes)
	binary.LittleEndian.PutUint32(buf, uint32(e.Rows))
	binary.LittleEndian.PutUint32(buf[4:], uint32(e.Cols))
	out := buf[8:]
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
		Data: make([]float32, embeddingValues),
	}
	in := b[8:]
	for i := range e.Data {
		v := float16.Frombits(binary.LittleEndian.Uint16(in[2*i:])).Float32()
		// An embedding value beyond half precision's range (65504) was
		// written as an infinity; a NaN comes from a slice with NaN
		// voxels in builds that did not window them as air. Recompute.
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("value %d is %v", i, v)
		}
		e.Data[i] = v
	}
	return e, nil
}
