package embedcache

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Usage is what the disk cache holds.
type Usage struct {
	Dir     string
	Entries int
	Bytes   int64
	// Bound is Options.DiskBytes (0: none).
	Bound int64
}

type file struct {
	path string
	size int64
	used time.Time
}

// files lists the cache's value files (those ending in Ext) in Dir.
func (c *Cache[V]) files() ([]file, error) {
	var out []file
	err := filepath.WalkDir(c.opts.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == c.opts.Dir && os.IsNotExist(err) {
				return fs.SkipAll
			}
			// A file removed by another process while walking is fine.
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), c.opts.Ext) || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		out = append(out, file{p, info.Size(), info.ModTime()})
		return nil
	})
	return out, err
}

// Usage counts the files of the disk cache.
func (c *Cache[V]) Usage() (Usage, error) {
	u := Usage{Dir: c.opts.Dir, Bound: c.opts.DiskBytes}
	if c.opts.Dir == "" {
		return u, nil
	}
	fs, err := c.files()
	for _, f := range fs {
		u.Entries++
		u.Bytes += f.size
	}
	return u, err
}

// Evict removes the least recently used files (by modification time,
// which reads refresh) until the folder holds at most nine tenths of
// Options.DiskBytes, and returns how many it removed. The margin keeps the
// next few writes from each starting another round. Nothing happens
// without a bound.
func (c *Cache[V]) Evict() (int, error) {
	if c.opts.Dir == "" || c.opts.DiskBytes <= 0 {
		return 0, nil
	}
	fs, err := c.files()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, f := range fs {
		total += f.size
	}
	removed := 0
	if total > c.opts.DiskBytes {
		slices.SortFunc(fs, func(a, b file) int { return a.used.Compare(b.used) })
		target := c.opts.DiskBytes / 10 * 9
		for _, f := range fs {
			if total <= target {
				break
			}
			if err := os.Remove(f.path); err == nil || os.IsNotExist(err) {
				total -= f.size
				removed++
			}
		}
	}
	c.mu.Lock()
	c.diskUsed, c.sinceCounted = total, 0
	c.mu.Unlock()
	return removed, nil
}
