package embedcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/internal/lockfile"
)

// Codec turns a cached value into the bytes of its file and back.
// Unmarshal must refuse (with an error) anything it would not have
// written: a file cut short, another layout, a value that is not finite.
type Codec[V any] interface {
	Marshal(v V) ([]byte, error)
	Unmarshal(key string, b []byte) (V, error)
}

// Sizer is implemented by codecs whose values the memory bound counts in
// bytes (Options.MemoryBytes).
type Sizer[V any] interface {
	Size(v V) int64
}

// Options configure a Cache. The zero value is a cache that keeps nothing.
type Options struct {
	// Dir is the folder of the disk cache; empty keeps values in memory
	// only.
	Dir string
	// Magic starts every file (8 bytes: a name and a layout version); a
	// file that does not start with it is not read.
	Magic string
	// Ext is the files' extension, with its dot. Only files with it count
	// towards DiskBytes and are evicted.
	Ext string
	// MemoryBytes bounds the values kept in memory by their size (the
	// codec must be a Sizer); when zero, MemoryEntries bounds their count.
	// Both zero keep none beyond those waiting for the disk.
	MemoryBytes   int64
	MemoryEntries int
	// DiskBytes bounds the files in Dir: when they grow past it, the least
	// recently used are removed until they fill at most nine tenths of it.
	// Zero means no bound.
	DiskBytes int64
	// WriteBehind writes files on a goroutine of the cache's own, so that
	// Put does not wait for the disk. Until its file is written a value
	// stays findable, whatever the memory bound has dropped.
	WriteBehind bool
	// ClaimWait is how long Claim waits for another process computing the
	// same key before computing it too; zero means DefaultClaimWait.
	ClaimWait time.Duration
	// ClaimStale is the heartbeat age after which another process's claim
	// is taken to be abandoned (a claim of a process that has ended on this
	// host is at once); zero means DefaultClaimStale.
	ClaimStale time.Duration
}

// Defaults of the claim timing. An encode takes about a second on two
// cores, ten under heavy load; a claim older than that is the mark of a
// process that hangs.
const (
	DefaultClaimWait  = 2 * time.Minute
	DefaultClaimStale = 30 * time.Second
)

// writeQueue bounds the values waiting for the disk: a slow disk then
// slows the producer down instead of filling the memory.
const writeQueue = 8

// claimPoll is how often a process waiting on another's claim looks
// whether the value has arrived.
const claimPoll = 40 * time.Millisecond

// touchEvery is how stale a file's modification time (its last use, for
// the eviction order) may get before a read refreshes it: refreshing on
// every read would be a metadata write per prompt.
const touchEvery = time.Minute

// claimExt ends the name of a claim's lock file, beside the value's file.
const claimExt = ".claim"

// Cache is a two-level cache of values by key: a least-recently-used set
// in memory and files on disk, shared by every process that uses the same
// folder. Safe for concurrent use.
type Cache[V any] struct {
	opts  Options
	codec Codec[V]
	size  func(V) int64

	mu      sync.Mutex
	mem     *lru[V]
	pending map[string]V // queued for the disk, not yet written
	claims  map[string]*lockfile.Lock
	// diskUsed is this process's estimate of the files' total size (-1:
	// not counted yet); writes since the last count.
	diskUsed     int64
	sinceCounted int

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
	c := &Cache[V]{opts: opts, codec: codec, pending: map[string]V{}, claims: map[string]*lockfile.Lock{}, diskUsed: -1}
	sz, ok := codec.(Sizer[V])
	switch {
	case opts.MemoryBytes > 0 && ok:
		c.size = sz.Size
		c.mem = newLRU[V](opts.MemoryBytes)
	default:
		c.size = func(V) int64 { return 1 }
		c.mem = newLRU[V](int64(opts.MemoryEntries))
	}
	if c.opts.ClaimWait <= 0 {
		c.opts.ClaimWait = DefaultClaimWait
	}
	if c.opts.ClaimStale <= 0 {
		c.opts.ClaimStale = DefaultClaimStale
	}
	if opts.Dir != "" && opts.WriteBehind {
		c.writes = make(chan entry[V], writeQueue)
		go c.writer()
	}
	return c
}

func (c *Cache[V]) writer() {
	for e := range c.writes {
		c.store(e.key, e.v)
		c.mu.Lock()
		delete(c.pending, e.key)
		c.mu.Unlock()
		c.written.Done()
	}
}

// Close waits for the queued writes, stops the writer and gives up the
// claims still held. The cache must not be used afterwards.
func (c *Cache[V]) Close() {
	c.closing.Do(func() {
		if c.writes != nil {
			c.written.Wait()
			close(c.writes)
		}
		c.mu.Lock()
		claims := c.claims
		c.claims = map[string]*lockfile.Lock{}
		c.mu.Unlock()
		for _, l := range claims {
			_ = l.Release()
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
	return c.fileHas(key)
}

func (c *Cache[V]) fileHas(key string) bool {
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
// cache (behind the caller's back with WriteBehind). A claim this process
// holds on key is given up once the file is written.
func (c *Cache[V]) Put(key string, v V) {
	c.remember(key, v)
	if c.opts.Dir == "" {
		return
	}
	if c.writes == nil {
		c.store(key, v)
		return
	}
	c.mu.Lock()
	c.pending[key] = v
	c.mu.Unlock()
	c.written.Add(1)
	c.writes <- entry[V]{key, v}
}

// store writes key's file, gives up this process's claim on it, and keeps
// the folder within its bound.
func (c *Cache[V]) store(key string, v V) {
	// A cache that cannot be written only costs time later.
	n, err := c.write(key, v)
	c.release(key)
	if err != nil || c.opts.DiskBytes <= 0 {
		return
	}
	c.mu.Lock()
	if c.diskUsed >= 0 {
		c.diskUsed += n
	}
	c.sinceCounted++
	// Other processes write into the same folder: count again now and
	// then, not only when this process's estimate crosses the bound.
	recount := c.diskUsed < 0 || c.diskUsed > c.opts.DiskBytes || c.sinceCounted >= 64
	c.mu.Unlock()
	if recount {
		_, _ = c.Evict()
	}
}

func (c *Cache[V]) remember(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem.add(key, v, c.size(v))
}

// Path returns the file of key: two levels, so that no folder holds more
// than a few thousand files.
func (c *Cache[V]) Path(key string) string {
	return filepath.Join(c.opts.Dir, key[:2], key+c.opts.Ext)
}

func (c *Cache[V]) write(key string, v V) (int64, error) {
	b, err := c.codec.Marshal(v)
	if err != nil {
		return 0, err
	}
	path := c.Path(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	err = atomicfile.WriteFile(path, 0o600, func(w io.Writer) error {
		if _, err := io.WriteString(w, c.opts.Magic); err != nil {
			return err
		}
		_, err := w.Write(b)
		return err
	})
	return int64(len(c.opts.Magic) + len(b)), err
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
	// The modification time is the file's last use, which eviction goes
	// by.
	if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > touchEvery {
		now := time.Now()
		_ = os.Chtimes(path, now, now)
	}
	return v, nil
}

// ErrClaimWait marks a Claim that gave up waiting for another process.
var ErrClaimWait = errors.New("waited too long for another process")

// Claim makes this process the one that computes key, so that processes
// sharing the folder (the app and the command line, test binaries run in
// parallel) compute each value once. It returns the value and true when
// it is cached, or arrives while Claim waits on another process computing
// it; else false, and the caller computes the value and Puts it (which
// gives the claim up once the file is written), or calls Abandon.
//
// A claim is a lock file beside the value's (internal/lockfile), kept
// fresh while its holder lives. One whose holder has ended, or whose
// heartbeat is older than Options.ClaimStale, is taken over; after
// Options.ClaimWait Claim stops waiting and the caller computes the value
// itself. Without a disk cache Claim only looks into memory. ctx's end
// stops the wait with its error.
func (c *Cache[V]) Claim(ctx context.Context, key string) (V, bool, error) {
	var zero V
	if v, ok := c.Get(key); ok {
		return v, true, nil
	}
	if c.opts.Dir == "" {
		return zero, false, nil
	}
	path := c.Path(key) + claimExt
	lopt := lockfile.Options{Timeout: c.opts.ClaimStale}
	deadline := time.Now().Add(c.opts.ClaimWait)
	for {
		l, err := lockfile.Acquire(path, lopt)
		if err == nil {
			// The value may have been written between the look and the
			// lock.
			if v, ok := c.Get(key); ok {
				_ = l.Release()
				return v, true, nil
			}
			c.mu.Lock()
			if old := c.claims[key]; old != nil {
				_ = old.Release()
			}
			c.claims[key] = l
			c.mu.Unlock()
			return zero, false, nil
		}
		var locked *lockfile.LockedError
		if !errors.As(err, &locked) {
			// A folder that cannot hold locks still caches: compute.
			return zero, false, nil
		}
		if locked.Stale {
			if l, err := lockfile.TakeOver(path, locked.Holder, lopt); err == nil {
				c.mu.Lock()
				c.claims[key] = l
				c.mu.Unlock()
				if v, ok := c.Get(key); ok {
					c.release(key)
					return v, true, nil
				}
				return zero, false, nil
			}
			continue
		}
		if time.Now().After(deadline) {
			return zero, false, fmt.Errorf("%w: %s", ErrClaimWait, locked)
		}
		select {
		case <-ctx.Done():
			return zero, false, ctx.Err()
		case <-time.After(claimPoll):
		}
		if c.fileHas(key) {
			if v, ok := c.Get(key); ok {
				return v, true, nil
			}
		}
	}
}

// Abandon gives up this process's claim on key without a value (the
// computation failed or was cancelled), so that a waiting process takes
// over at once.
func (c *Cache[V]) Abandon(key string) { c.release(key) }

func (c *Cache[V]) release(key string) {
	c.mu.Lock()
	l := c.claims[key]
	delete(c.claims, key)
	c.mu.Unlock()
	if l != nil {
		_ = l.Release()
	}
}
