package sam2

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/polyseg/polyseg/inference/embedcache"
)

// newSAM2FrameCache returns the cache of SAM 2 encoder outputs (sam2Frame,
// 25 MB a slice): max of them in memory, least recently used first out,
// and files in dir ("" for none). shared returns the one copy of the
// positional embedding frames read from disk should point to (see
// Model.sharedPos).
func newSAM2FrameCache(max int, dir string, shared func([]float32) []float32) *embedcache.Cache[*sam2Frame] {
	return embedcache.New[*sam2Frame](embedcache.Options{
		Dir: dir, Magic: sam2FrameMagic, Ext: ".s2f", MemoryEntries: max,
	}, frameCodec{shared: shared})
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

// frameCodec is the layout of a frame's cache file: rows and columns, then
// the arrays of sam2FrameParts as little-endian float32.
type frameCodec struct{ shared func([]float32) []float32 }

func (frameCodec) Marshal(f *sam2Frame) ([]byte, error) {
	n := 8
	for _, p := range sam2FrameParts(f) {
		if len(*p.data) != p.n {
			return nil, fmt.Errorf("sam2 frame %s: an array of %d values, want %d", f.key, len(*p.data), p.n)
		}
		n += 4 * p.n
	}
	b := make([]byte, n)
	binary.LittleEndian.PutUint32(b, uint32(f.rows))
	binary.LittleEndian.PutUint32(b[4:], uint32(f.cols))
	o := 8
	for _, p := range sam2FrameParts(f) {
		for _, v := range *p.data {
			binary.LittleEndian.PutUint32(b[o:], math.Float32bits(v))
			o += 4
		}
	}
	return b, nil
}

func (c frameCodec) Unmarshal(key string, b []byte) (*sam2Frame, error) {
	f := &sam2Frame{key: key}
	want := 8
	for _, p := range sam2FrameParts(f) {
		want += 4 * p.n
	}
	if len(b) != want {
		return nil, fmt.Errorf("sam2 frame of %d bytes, want %d", len(b), want)
	}
	f.rows = int(binary.LittleEndian.Uint32(b))
	f.cols = int(binary.LittleEndian.Uint32(b[4:]))
	o := 8
	for _, p := range sam2FrameParts(f) {
		d := make([]float32, p.n)
		for i := range d {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[o+4*i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("value %d is %v", i, v)
			}
			d[i] = v
		}
		*p.data = d
		o += 4 * p.n
	}
	if c.shared != nil {
		f.pos = c.shared(f.pos)
	}
	return f, nil
}
