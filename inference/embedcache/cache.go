package embedcache

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

// Codec turns a cached value into the bytes of its file and back.
// Unmarshal must refuse (with an error) anything it would not have
// written: a file cut short, another layout, a value that is not finite.
type Codec[V any] interface {
	Marshal(v V) ([]byte, error)
	Unmarshal(key string, b []byte) (V, error)
}

// Options configure a Cache.
type Options struct {
	// Dir is the folder of the disk cache; empty keeps values in memory
	// only.
	Dir string
	// Magic starts every file (8 bytes: a name and a layout version); a
	// file that does not start with it is not read.
	Magic string
	// Ext is the files' extension, with its dot.
	Ext string
	// MemoryEntries is how many values stay in memory; zero keeps none
	// beyond those waiting for the disk.
	MemoryEntries int
	// WriteBehind writes files on a goroutine of the cache's own, so that
	// Put does not wait for the disk. Until its file is written a value
	// stays findable, whatever the memory bound has dropped.
	WriteBehind bool
}

// writeQueue bounds the values waiting for the disk: a slow disk then
// slows the producer down instead of filling the memory.
const writeQueue = 8

// Cache is a two-level cache of values by key: a least-recently-used set
// in memory and files on disk. Safe for concurrent use.
type Cache[V any] struct {
	opts  Options
	codec Codec[V]

	mu      sync.Mutex
	mem     *lru[V]
	pending map[string]V // queued for the disk, not yet written

	writes  chan entry[V]
	written sync.WaitGroup // one per queued write
	closing sync.Once
}

type entry[V any] struct {
	key string
	v   V
}

// New returns a cache; Close it to wait for the files still being
// written.
func New[V any](opts Options, codec Codec[V]) *Cache[V] {
	c := &Cache[V]{opts: opts, codec: codec, mem: newLRU[V](opts.MemoryEntries), pending: map[string]V{}}
	if opts.Dir != "" && opts.WriteBehind {
		c.writes = make(chan entry[V], writeQueue)
		go c.writer()
	}
	return c
}

func (c *Cache[V]) writer() {
	for e := range c.writes {
		// A cache that cannot be written only costs time later.
		_ = c.write(e.key, e.v)
		c.mu.Lock()
		delete(c.pending, e.key)
		c.mu.Unlock()
		c.written.Done()
	}
}

// Close waits for the queued writes and stops the writer. The cache must
// not be used afterwards.
func (c *Cache[V]) Close() {
	c.closing.Do(func() {
		if c.writes != nil {
			c.written.Wait()
			close(c.writes)
		}
	})
}

// Get returns the value of key from memory, else from its file; a file
// that does not read back whole is ignored.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	if v, ok := c.mem.get(key); ok {
		c.mu.Unlock()
		return v, true
	}
	if v, ok := c.pending[key]; ok {
		c.mu.Unlock()
		return v, true
	}
	c.mu.Unlock()
	var zero V
	if c.opts.Dir == "" {
		return zero, false
	}
	v, err := c.read(key)
	if err != nil {
		return zero, false
	}
	c.remember(key, v)
	return v, true
}

// Has reports whether key is cached, in memory or as a file whose header
// is right, without reading the whole file.
func (c *Cache[V]) Has(key string) bool {
	c.mu.Lock()
	ok := c.mem.has(key)
	_, queued := c.pending[key]
	c.mu.Unlock()
	if ok || queued || c.opts.Dir == "" {
		return ok || queued
	}
	f, err := os.Open(c.Path(key))
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(c.opts.Magic))
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == c.opts.Magic
}

// Put caches v under key: in memory, and on disk when there is a disk
// cache (behind the caller's back with WriteBehind).
func (c *Cache[V]) Put(key string, v V) {
	c.remember(key, v)
	if c.opts.Dir == "" {
		return
	}
	if c.writes == nil {
		_ = c.write(key, v)
		return
	}
	c.mu.Lock()
	c.pending[key] = v
	c.mu.Unlock()
	c.written.Add(1)
	c.writes <- entry[V]{key, v}
}

func (c *Cache[V]) remember(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem.add(key, v)
}

// Path returns the file of key: two levels, so that no folder holds more
// than a few thousand files.
func (c *Cache[V]) Path(key string) string {
	return filepath.Join(c.opts.Dir, key[:2], key+c.opts.Ext)
}

func (c *Cache[V]) write(key string, v V) error {
	b, err := c.codec.Marshal(v)
	if err != nil {
		return err
	}
	path := c.Path(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, 0o600, func(w io.Writer) error {
		if _, err := io.WriteString(w, c.opts.Magic); err != nil {
			return err
		}
		_, err := w.Write(b)
		return err
	})
}

func (c *Cache[V]) read(key string) (V, error) {
	var zero V
	path := c.Path(key)
	b, err := os.ReadFile(path)
	if err != nil {
		return zero, err
	}
	if len(b) < len(c.opts.Magic) || string(b[:len(c.opts.Magic)]) != c.opts.Magic {
		return zero, fmt.Errorf("cache file %s: not a %s file", path, c.opts.Magic)
	}
	v, err := c.codec.Unmarshal(key, b[len(c.opts.Magic):])
	if err != nil {
		return zero, fmt.Errorf("cache file %s: %w", path, err)
	}
	return v, nil
}
