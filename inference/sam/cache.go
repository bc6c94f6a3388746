package sam

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/polyseg/polyseg/inference/embedcache"
)

// embeddingMagic starts every cache file; the version digit changes when
// the layout does.
const embeddingMagic = "PSEMB001"

// embeddingBytes is the size of a cache file's body: the slice's rows and
// columns, then the embedding as little-endian float32.
const embeddingBytes = 8 + 4*samChannels*samGrid*samGrid

// newEmbeddingCache returns the cache of slice embeddings: max of them in
// memory, and files in dir ("" for none) written behind the encoder, since
// waiting for the disk would hold up the encoder, whose next slice is the
// one the user waits for.
func newEmbeddingCache(max int, dir string) *embedcache.Cache[*Embedding] {
	return embedcache.New[*Embedding](embedcache.Options{
		Dir: dir, Magic: embeddingMagic, Ext: ".emb", MemoryEntries: max, WriteBehind: true,
	}, embeddingCodec{})
}

// embeddingCodec is the layout of an embedding's cache file.
type embeddingCodec struct{}

func (embeddingCodec) Marshal(e *Embedding) ([]byte, error) {
	if len(e.Data) != samChannels*samGrid*samGrid {
		return nil, fmt.Errorf("embedding %s has %d values", e.Key, len(e.Data))
	}
	buf := make([]byte, embeddingBytes)
	binary.LittleEndian.PutUint32(buf, uint32(e.Rows))
	binary.LittleEndian.PutUint32(buf[4:], uint32(e.Cols))
	for i, v := range e.Data {
		binary.LittleEndian.PutUint32(buf[8+4*i:], math.Float32bits(v))
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
		Data: make([]float32, samChannels*samGrid*samGrid),
	}
	for i := range e.Data {
		v := math.Float32frombits(binary.LittleEndian.Uint32(b[8+4*i:]))
		// Builds before NaN voxels were windowed as air cached NaN
		// embeddings for slices holding them; recompute those.
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("value %d is %v", i, v)
		}
		e.Data[i] = v
	}
	return e, nil
}
