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

// sam2FrameCache keeps SAM 2 encoder outputs (sam2Frame, 25 MB a slice)
// in memory, least recently used first out, and optionally on disk. Disk
// files are raw little-endian float32 behind a header, written atomically;
// one that does not read back whole and finite is recomputed, never used.
type sam2FrameCache struct {
	dir string // "" keeps frames in memory only
	// shared returns the one copy of the positional embedding frames read
	// from disk should point to (see SAM2.sharedPos).
	shared func([]float32) []float32

	mu  sync.Mutex
	mem *lru[*sam2Frame]
}

func newSAM2FrameCache(max int, dir string, shared func([]float32) []float32) *sam2FrameCache {
	return &sam2FrameCache{dir: dir, shared: shared, mem: newLRU[*sam2Frame](max)}
}

// sam2FrameMagic starts every cache file; the digits change with the layout.
const sam2FrameMagic = "PSS2F001"

// sam2FrameParts are the arrays of a frame in file order, with their sizes.
func sam2FrameParts(f *sam2Frame) []struct {
	data *[]float32
	n    int
} {
	return []struct {
		data *[]float32
		n    int
	}{
		{&f.pix, sam2Channels * sam2Grid * sam2Grid},
		{&f.vision, sam2Channels * sam2Grid * sam2Grid},
		{&f.hr0, sam2HR0Channels * sam2HR0Grid * sam2HR0Grid},
		{&f.hr1, sam2HR1Channels * sam2HR1Grid * sam2HR1Grid},
		{&f.pos, sam2Grid * sam2Grid * sam2Channels},
	}
}

func (c *sam2FrameCache) get(key string) *sam2Frame {
	c.mu.Lock()
	if f, ok := c.mem.get(key); ok {
		c.mu.Unlock()
		return f
	}
	c.mu.Unlock()
	if c.dir == "" {
		return nil
	}
	f, err := readSAM2Frame(c.path(key), key)
	if err != nil {
		return nil
	}
	f.pos = c.shared(f.pos)
	c.remember(f)
	return f
}

func (c *sam2FrameCache) put(f *sam2Frame) {
	c.remember(f)
	if c.dir != "" {
		// A cache that cannot be written only costs time later.
		_ = writeSAM2Frame(c.path(f.key), f)
	}
}

func (c *sam2FrameCache) remember(f *sam2Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem.add(f.key, f)
}

func (c *sam2FrameCache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key+".s2f")
}

func writeSAM2Frame(path string, f *sam2Frame) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, 0o600, func(w io.Writer) error {
		head := make([]byte, len(sam2FrameMagic)+8)
		copy(head, sam2FrameMagic)
		binary.LittleEndian.PutUint32(head[len(sam2FrameMagic):], uint32(f.rows))
		binary.LittleEndian.PutUint32(head[len(sam2FrameMagic)+4:], uint32(f.cols))
		if _, err := w.Write(head); err != nil {
			return err
		}
		for _, p := range sam2FrameParts(f) {
			if len(*p.data) != p.n {
				return fmt.Errorf("sam2 frame %s: an array of %d values, want %d", f.key, len(*p.data), p.n)
			}
			buf := make([]byte, 4*p.n)
			for i, v := range *p.data {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}

func readSAM2Frame(path, key string) (*sam2Frame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &sam2Frame{key: key}
	h := len(sam2FrameMagic) + 8
	want := h
	for _, p := range sam2FrameParts(f) {
		want += 4 * p.n
	}
	if len(b) != want || string(b[:len(sam2FrameMagic)]) != sam2FrameMagic {
		return nil, fmt.Errorf("sam2 frame cache %s: bad size or header", path)
	}
	f.rows = int(binary.LittleEndian.Uint32(b[len(sam2FrameMagic):]))
	f.cols = int(binary.LittleEndian.Uint32(b[len(sam2FrameMagic)+4:]))
	o := h
	for _, p := range sam2FrameParts(f) {
		d := make([]float32, p.n)
		for i := range d {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[o+4*i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("sam2 frame cache %s: value %d is %v", path, i, v)
			}
			d[i] = v
		}
		*p.data = d
		o += 4 * p.n
	}
	return f, nil
}
