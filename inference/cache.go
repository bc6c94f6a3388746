package inference

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

// embeddingCache keeps slice embeddings in memory (least recently used
// first out) and on disk, so a slice costs the encoder once per machine,
// not once per prompt or per session. Disk files are raw little-endian
// float32 behind a small header; they are written atomically, and a file
// that does not read back whole is ignored (and recomputed), never trusted.
//
// Disk writes happen on a goroutine of their own: the file is synced
// before it is renamed into place, and waiting for the disk would hold up
// the encoder, whose next slice is the one the user waits for. Until its
// file is written an embedding stays findable in pending, whatever the
// memory cache has dropped, so that no slice is encoded twice.
type embeddingCache struct {
	dir string // "" disables the disk cache

	mu      sync.Mutex
	mem     *lru[*Embedding]
	pending map[string]*Embedding // queued for the disk, not yet written

	writes  chan *Embedding
	written sync.WaitGroup // one per queued write
	closing sync.Once
}

// writeQueue bounds the embeddings waiting for the disk (4 MiB each): a
// slow disk then slows the encoder down instead of filling the memory.
const writeQueue = 8

func newEmbeddingCache(max int, dir string) *embeddingCache {
	c := &embeddingCache{dir: dir, mem: newLRU[*Embedding](max), pending: map[string]*Embedding{}}
	if dir != "" {
		c.writes = make(chan *Embedding, writeQueue)
		go c.writer()
	}
	return c
}

// writer writes queued embeddings to the disk until the queue is closed.
func (c *embeddingCache) writer() {
	for e := range c.writes {
		// A cache that cannot be written only costs time later.
		_ = writeEmbedding(c.path(e.Key), e)
		c.mu.Lock()
		delete(c.pending, e.Key)
		c.mu.Unlock()
		c.written.Done()
	}
}

// close waits for the queued writes and stops the writer.
func (c *embeddingCache) close() {
	c.closing.Do(func() {
		if c.writes != nil {
			c.written.Wait()
			close(c.writes)
		}
	})
}

// embeddingMagic starts every cache file; the version digit changes when
// the layout does.
const embeddingMagic = "PSEMB001"

func (c *embeddingCache) get(key string) *Embedding {
	c.mu.Lock()
	if e, ok := c.mem.get(key); ok {
		c.mu.Unlock()
		return e
	}
	if e, ok := c.pending[key]; ok {
		c.mu.Unlock()
		return e
	}
	c.mu.Unlock()
	if c.dir == "" {
		return nil
	}
	e, err := readEmbedding(c.path(key), key)
	if err != nil {
		return nil
	}
	c.remember(e)
	return e
}

// has reports whether key is cached in memory or on disk, without reading
// the disk file.
func (c *embeddingCache) has(key string) bool {
	c.mu.Lock()
	ok := c.mem.has(key)
	_, queued := c.pending[key]
	c.mu.Unlock()
	if ok || queued || c.dir == "" {
		return ok || queued
	}
	st, err := os.Stat(c.path(key))
	return err == nil && st.Size() == int64(len(embeddingMagic)+8+4*samChannels*samGrid*samGrid)
}

func (c *embeddingCache) put(e *Embedding) {
	c.remember(e)
	if c.writes == nil {
		return
	}
	c.mu.Lock()
	c.pending[e.Key] = e
	c.mu.Unlock()
	c.written.Add(1)
	c.writes <- e
}

func (c *embeddingCache) remember(e *Embedding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem.add(e.Key, e)
}

func (c *embeddingCache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key+".emb")
}

func writeEmbedding(path string, e *Embedding) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	buf := make([]byte, len(embeddingMagic)+8+4*len(e.Data))
	copy(buf, embeddingMagic)
	o := len(embeddingMagic)
	binary.LittleEndian.PutUint32(buf[o:], uint32(e.Rows))
	binary.LittleEndian.PutUint32(buf[o+4:], uint32(e.Cols))
	o += 8
	for i, v := range e.Data {
		binary.LittleEndian.PutUint32(buf[o+4*i:], math.Float32bits(v))
	}
	return atomicfile.WriteFile(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(buf)
		return err
	})
}

func readEmbedding(path, key string) (*Embedding, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	n := samChannels * samGrid * samGrid
	h := len(embeddingMagic) + 8
	if len(b) != h+4*n || string(b[:len(embeddingMagic)]) != embeddingMagic {
		return nil, fmt.Errorf("embedding cache %s: bad size or header", path)
	}
	e := &Embedding{
		Rows: int(binary.LittleEndian.Uint32(b[len(embeddingMagic):])),
		Cols: int(binary.LittleEndian.Uint32(b[len(embeddingMagic)+4:])),
		Key:  key,
		Data: make([]float32, n),
	}
	for i := range e.Data {
		v := math.Float32frombits(binary.LittleEndian.Uint32(b[h+4*i:]))
		// Builds before NaN voxels were windowed as air cached NaN
		// embeddings for slices holding them; recompute those.
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("embedding cache %s: value %d is %v", path, i, v)
		}
		e.Data[i] = v
	}
	return e, nil
}
