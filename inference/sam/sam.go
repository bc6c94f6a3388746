package sam

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/x448/float16"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/inference/embedcache"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// Model geometry fixed by the model family: the encoder sees a square of
// samSize pixels and returns a samGrid² embedding of samChannels; the
// decoder's mask prompt is samLowRes² logits over the same square.
const (
	samChannels = 256
	samGrid     = 64
	// LowRes is the side of the decoder's low-resolution logits, in the
	// mask prompt and in Prediction.LowRes.
	LowRes = 256
)

// Model runs a Segment Anything encoder and decoder pair with an embedding
// cache. Safe for concurrent use.
type Model struct {
	enc, dec *onnxrt.Session
	size     int // the encoder's square input size (1024)
	mean     [3]float32
	std      [3]float32
	window   models.Preprocess
	cache    *embedcache.Cache[*Embedding]
	sched    *encoderSchedule
	// fullPrecision leaves embeddings unrounded (Options.FullPrecision).
	fullPrecision bool
	pools         [3]sync.Pool // of *[]float32: preprocessing buffers, by use
	stats         samCounters
	keys          struct { // slice cache keys of the last volume (sliceKey)
		mu  sync.Mutex
		vol *volume.Volume
		m   map[sliceKeyOf]string
	}
}

// samCounters count what the encoder did, for Stats.
type samCounters struct {
	encoded, hits atomic.Int64
	decodeNanos   atomic.Int64
}

// Stats says how often slice embeddings were computed and how often the
// cache (memory or disk) served them.
type Stats struct {
	// Encoded counts encoder runs that finished; Preempted background
	// encodes that gave way to the user.
	Encoded, Preempted int64
	// Hits counts embeddings served by the cache or by an encode already
	// in flight.
	Hits int64
	// DecodeTime is the time spent inside the decoder model's runs, the
	// part of a prompt that is not this package's own work.
	DecodeTime time.Duration
}

// HitRate returns the share of embeddings served without an encoder run.
func (st Stats) HitRate() float64 {
	if st.Hits+st.Encoded == 0 {
		return 0
	}
	return float64(st.Hits) / float64(st.Hits+st.Encoded)
}

// Stats returns the counters since Model was loaded.
func (s *Model) Stats() Stats {
	s.sched.mu.Lock()
	preempted := s.sched.preempted
	s.sched.mu.Unlock()
	return Stats{Encoded: s.stats.encoded.Load(), Preempted: preempted, Hits: s.stats.hits.Load(),
		DecodeTime: time.Duration(s.stats.decodeNanos.Load())}
}

// Options configure Load. The zero value gives the defaults.
type Options struct {
	// MemoryBytes bounds the slice embeddings kept in memory (2 MiB each,
	// 4 with FullPrecision);
	// zero means DefaultMemoryBytes.
	MemoryBytes int64
	// DiskCache is the folder of the on-disk embedding cache; empty means
	// embeddings under the runtime's cache folder. "-" disables it.
	DiskCache string
	// DiskBytes bounds the on-disk cache (least recently used files go
	// first); zero means DefaultDiskBytes, negative no bound.
	DiskBytes int64
	// NoCache runs the encoder for every call (benchmarks measure it so).
	NoCache bool
	// FullPrecision keeps embeddings in float32, in memory only (the disk
	// cache stores half precision): for measuring what half precision
	// costs (BenchmarkHalfPrecision).
	FullPrecision bool
	// Encoder picks the encoder: EncoderFloat32 (the fetched model) or
	// EncoderInt8 (its int8 variant, which polyseg quantize makes); empty
	// means DefaultEncoder.
	Encoder string
}

// Encoder variants (Options.Encoder).
const (
	EncoderFloat32 = "float32"
	EncoderInt8    = "int8"
	// DefaultEncoder is the float32 encoder: the int8 variant was measured
	// 1.3x faster on two cores, short of the 1.6x that would be worth its
	// error (docs/benchmarks.md).
	DefaultEncoder = EncoderFloat32
)

// Default bounds of the embedding cache.
const (
	// DefaultMemoryBytes keeps 32 slices (a propagation's neighbourhood
	// and then some) in memory, in half precision.
	DefaultMemoryBytes = 64 << 20
	// DefaultDiskBytes keeps about a thousand slices on disk (2 MiB each):
	// eight scans of 120 slices.
	DefaultDiskBytes = 2 << 30
)

// Load loads the encoder and decoder named by their manifests.
func Load(r *onnxrt.Runtime, encoder, decoder *models.Manifest, opts Options) (*Model, error) {
	enc, err := r.LoadModel(encoder, models.KindSAMEncoder)
	if err != nil {
		return nil, err
	}
	dec, err := r.LoadModel(decoder, models.KindSAMDecoder)
	if err != nil {
		enc.Close()
		return nil, err
	}
	p := encoder.Preprocess
	s := &Model{enc: enc, dec: dec, size: p.Size[0], window: p,
		mean: [3]float32{123.675, 116.28, 103.53}, std: [3]float32{58.395, 57.12, 57.375}}
	for c := 0; c < 3 && len(p.Mean) == 3 && len(p.Std) == 3; c++ {
		s.mean[c], s.std[c] = float32(p.Mean[c]), float32(p.Std[c])
	}
	mem, dir, disk := cacheSettings(r.CacheDir(), opts)
	s.cache = newEmbeddingCache(mem, dir, disk)
	s.fullPrecision = opts.FullPrecision
	s.sched = newEncoderSchedule()
	return s, nil
}

// cacheSettings resolves the embedding cache's options under a runtime
// cache folder: the memory bound, the folder ("" for none) and the disk
// bound (0 for none).
func cacheSettings(runtimeCache string, opts Options) (mem int64, dir string, disk int64) {
	mem = opts.MemoryBytes
	if mem <= 0 {
		mem = DefaultMemoryBytes
	}
	dir = opts.DiskCache
	switch dir {
	case "":
		dir = DefaultCacheDir(runtimeCache)
	case "-":
		dir = ""
	}
	disk = opts.DiskBytes
	switch {
	case disk == 0:
		disk = DefaultDiskBytes
	case disk < 0:
		disk = 0
	}
	if opts.NoCache {
		mem, dir = 0, ""
	}
	if opts.FullPrecision {
		dir = ""
	}
	return mem, dir, disk
}

// DefaultCacheDir is the embedding cache's folder under a runtime cache
// folder.
func DefaultCacheDir(runtimeCache string) string { return filepath.Join(runtimeCache, "embeddings") }

// CacheUsage counts what the disk cache that Load would use with opts
// under a runtime cache folder holds, without loading a model: for
// polyseg doctor.
func CacheUsage(runtimeCache string, opts Options) (embedcache.Usage, error) {
	_, dir, disk := cacheSettings(runtimeCache, opts)
	c := newEmbeddingCache(0, dir, disk)
	defer c.Close()
	return c.Usage()
}

// CacheUsage counts what the model's disk cache holds.
func (s *Model) CacheUsage() (embedcache.Usage, error) { return s.cache.Usage() }

// LoadDefault loads sam-encoder (or, with Options.Encoder EncoderInt8,
// its int8 variant) and sam-decoder from the runtime's model folder
// (where scripts/fetch-runtime.sh puts them).
func LoadDefault(r *onnxrt.Runtime, opts Options) (*Model, error) {
	enc, err := models.Find("sam-encoder", r.ModelDir())
	if err != nil {
		return nil, err
	}
	switch opts.Encoder {
	case "", EncoderFloat32:
	case EncoderInt8:
		if enc, err = FindInt8(enc, r.ModelDir()); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("sam encoder %q: want %s or %s", opts.Encoder, EncoderFloat32, EncoderInt8)
	}
	dec, err := models.Find("sam-decoder", r.ModelDir())
	if err != nil {
		return nil, err
	}
	return Load(r, enc, dec, opts)
}

// Close releases both sessions.
func (s *Model) Close() error {
	s.cache.Close()
	err := s.enc.Close()
	if e := s.dec.Close(); err == nil {
		err = e
	}
	return err
}

// DefaultWindow returns the encoder manifest's window: the one every
// segment is seen in unless the caller chooses another (for a segment by
// its name, in the app's settings). One window for every segment means
// each slice is encoded once, whatever segment is chosen.
func (s *Model) DefaultWindow() models.Window { return s.window.Window }

// Embedding is the encoder's output for one slice image.
type Embedding struct {
	Data       []float32 // 256 x 64 x 64
	Rows, Cols int       // the slice image size
	Key        string    // cache key: hex sha256 of model, window and pixels
	// half holds the values as half-precision bits instead of Data in
	// the memory cache (compact, expanded); callers never see it.
	half []uint16
}

// scale is the factor from slice pixels to the encoder's input pixels.
func (e *Embedding) scale(size int) float64 {
	return float64(size) / float64(max(e.Rows, e.Cols))
}

// The uses of the preprocessing buffers (Model.pools).
const (
	poolGrey = iota
	poolPlane
	poolInput
)

// embeddingKey identifies an embedding by what it is a function of: the
// encoder (its sha256), the window and the slice's pixels. Keying on the
// pixels rather than on (volume, slice) means an edited or reloaded scan can
// never be served a stale embedding, and the same slice opened twice shares
// one.
func (s *Model) embeddingKey(img []float32, rows, cols int, w models.Window) string {
	h := sha256.New()
	h.Write([]byte(s.enc.Manifest.SHA256))
	var b [8]byte
	for _, v := range []float64{float64(rows), float64(cols), w.Level, w.Width} {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	// The pixels in little-endian order, a block at a time: a whole slice
	// converted at once would be a megabyte allocated per lookup.
	var buf [4096]byte
	for len(img) > 0 {
		n := min(len(img), len(buf)/4)
		for i, v := range img[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		h.Write(buf[:4*n])
		img = img[n:]
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Preprocess turns a slice image (HU, rows x cols) into the encoder input:
// window to [0, 255], three equal channels, longest side resized to the
// encoder size (bilinear), SAM's mean/std normalisation, zero padding at the
// bottom and right.
func (s *Model) Preprocess(img []float32, rows, cols int, w models.Window) []float32 {
	out := make([]float32, 3*s.size*s.size)
	s.preprocessInto(out, img, rows, cols, w)
	return out
}

// buffer returns a scratch slice of n values from the model's pool (its
// contents are whatever it held); put it back with release. The encoder
// runs on every slice of a scan, and its input alone is 12 MiB: buffers
// made anew each time would be garbage enough to let the heap grow by
// hundreds of megabytes between collections.
// There is a pool for each use (the slice in grey, the resized plane, the
// encoder's input), so that a buffer comes back at the size it is needed.
func buffer(p *sync.Pool, n int) *[]float32 {
	if b, ok := p.Get().(*[]float32); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float32, n)
	return &b
}

// preprocessInto is Preprocess writing into out (3 x size x size values).
func (s *Model) preprocessInto(out []float32, img []float32, rows, cols int, w models.Window) {
	lo, _ := w.Range()
	gb := buffer(&s.pools[poolGrey], len(img))
	defer s.pools[poolGrey].Put(gb)
	grey := *gb
	for i, v := range img {
		grey[i] = float32(section.Windowed(v, lo, w.Width) * 255)
	}
	sc := float64(s.size) / float64(max(rows, cols))
	nh, nw := int(float64(rows)*sc+0.5), int(float64(cols)*sc+0.5)
	pb := buffer(&s.pools[poolPlane], s.size*s.size)
	defer s.pools[poolPlane].Put(pb)
	plane := *pb
	clear(plane)
	section.ResizeBilinearInto(plane, s.size, grey, rows, cols, nh, nw)
	// One pass writes the three channels: the encoder runs on every slice
	// of a scan in the background, and its input is 3 million values.
	n := s.size * s.size
	clear(out)
	r, g, b := out[:n], out[n:2*n], out[2*n:]
	inv := [3]float32{1 / s.std[0], 1 / s.std[1], 1 / s.std[2]}
	for y := 0; y < nh; y++ {
		row := plane[y*s.size : y*s.size+nw]
		o := y * s.size
		rr, gg, bb := r[o:o+nw], g[o:o+nw], b[o:o+nw]
		for x, v := range row {
			rr[x] = (v - s.mean[0]) * inv[0]
			gg[x] = (v - s.mean[1]) * inv[1]
			bb[x] = (v - s.mean[2]) * inv[2]
		}
	}
}

// Embed returns the embedding of a slice image in window w, from the cache
// when it is there. Concurrent calls for the same slice share one encode.
func (s *Model) Embed(ctx context.Context, img []float32, rows, cols int, w models.Window) (*Embedding, error) {
	return s.embed(ctx, img, rows, cols, w, false)
}

// EmbedBackground is Embed at the lowest priority, for encoding slices
// ahead of need: it waits while foreground calls (Embed, Decode) run, and
// gives way to one that starts while it encodes, trying again once the
// foreground is quiet. It returns only with the embedding or ctx's error.
func (s *Model) EmbedBackground(ctx context.Context, img []float32, rows, cols int, w models.Window) (*Embedding, error) {
	return s.embed(ctx, img, rows, cols, w, true)
}

func (s *Model) embed(ctx context.Context, img []float32, rows, cols int, w models.Window, background bool) (*Embedding, error) {
	if len(img) != rows*cols || rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("sam: image of %d pixels is not %dx%d", len(img), rows, cols)
	}
	if w.Width <= 0 {
		return nil, fmt.Errorf("sam: window width %v must be positive", w.Width)
	}
	return s.embedKeyed(ctx, s.embeddingKey(img, rows, cols, w), img, rows, cols, w, background)
}

// embedKeyed is embed for an image whose cache key is known.
func (s *Model) embedKeyed(ctx context.Context, key string, img []float32, rows, cols int, w models.Window, background bool) (*Embedding, error) {
	if e, ok := s.cache.Get(key); ok {
		s.stats.hits.Add(1)
		return e.expanded(), nil
	}
	computed := false
	e, err := s.sched.embed(ctx, key, background, func(ctx context.Context) (*Embedding, error) {
		// Another caller may have finished this slice between the cache
		// lookup and the schedule.
		if e, ok := s.cache.Get(key); ok {
			return e.expanded(), nil
		}
		// Another process (the app and the command line, test binaries
		// run in parallel) may be encoding the slice: wait for it rather
		// than encode it twice.
		if e, ok, err := s.cache.Claim(ctx, key); ok {
			return e.expanded(), nil
		} else if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e, err := s.encode(ctx, key, img, rows, cols, w)
		if err != nil {
			s.cache.Abandon(key)
			return nil, err
		}
		if !s.fullPrecision {
			// The disk cache keeps half precision: rounding a fresh
			// embedding the same way makes every prompt's answer the same
			// whether its embedding came from the encoder or from a file.
			roundHalf(e.Data)
		}
		computed = true
		s.cache.Put(key, e.compact(!s.fullPrecision))
		return e, nil
	})
	switch {
	case err == nil && computed:
		s.stats.encoded.Add(1)
	case err == nil:
		s.stats.hits.Add(1)
	}
	return e, err
}

// roundHalf rounds every value to the nearest half-precision float.
func roundHalf(x []float32) {
	for i, v := range x {
		x[i] = float16.Fromfloat32(v).Float32()
	}
}

// encode runs the encoder on a slice image.
func (s *Model) encode(ctx context.Context, key string, img []float32, rows, cols int, w models.Window) (*Embedding, error) {
	ib := buffer(&s.pools[poolInput], 3*s.size*s.size)
	defer s.pools[poolInput].Put(ib)
	s.preprocessInto(*ib, img, rows, cols, w)
	in, err := ort.NewTensor(ort.NewShape(1, 3, int64(s.size), int64(s.size)), *ib)
	if err != nil {
		return nil, fmt.Errorf("sam encoder input: %w", err)
	}
	defer in.Destroy()
	data := make([]float32, samChannels*samGrid*samGrid)
	out, err := ort.NewTensor(ort.NewShape(1, samChannels, samGrid, samGrid), data)
	if err != nil {
		return nil, fmt.Errorf("sam encoder output: %w", err)
	}
	defer out.Destroy()
	if err := s.enc.Run(ctx, []ort.Value{in}, []ort.Value{out}); err != nil {
		return nil, err
	}
	return &Embedding{Data: data, Rows: rows, Cols: cols, Key: key}, nil
}

// Prompt is what the decoder is asked: a box and/or points on the slice
// image (pixel coordinates: x = column, y = row) and an optional mask.
type Prompt struct {
	// Box, when set, is the box prompt (corners included).
	Box *section.Box
	// Points are clicks: Positive true for "this is the object".
	Points []Point
	// MaskInput, when set, is a 256x256 low-resolution logit mask in the
	// encoder's frame (see LowResLogits).
	MaskInput []float32
	// MultiMask lets the decoder return the best of its three masks
	// (ranked by predicted IoU) instead of its single-mask output. The
	// single output is what refinement wants: the multi-mask choice often
	// jumps to a neighbouring structure (sam-on-ct.md).
	MultiMask bool
}

// Point is a click on the slice image.
type Point struct {
	Row, Col float64
	Positive bool
}

// Prediction is the decoder's answer.
type Prediction struct {
	Mask *section.Mask // logits > 0, on the slice image
	// Area and Bounds are the mask's pixel count and bounding box (Bounds
	// is meaningless when Area is 0).
	Area   int
	Bounds section.Box
	// Stability is SAM's stability score of the mask: the IoU of the masks
	// thresholded at logits +1 and -1 (1 when its edge sits on a sharp
	// boundary; 0 when nothing is above -1).
	Stability float64
	IoU       float32   // the decoder's own estimate of the mask's IoU
	LowRes    []float32 // 256x256 logits, usable as the next MaskInput
}

// Decode runs the prompt decoder on an embedding.
func (s *Model) Decode(ctx context.Context, e *Embedding, p Prompt) (*Prediction, error) {
	sc := float32(e.scale(s.size))
	var coords, labels []float32
	for _, pt := range p.Points {
		coords = append(coords, float32(pt.Col)*sc, float32(pt.Row)*sc)
		l := float32(0)
		if pt.Positive {
			l = 1
		}
		labels = append(labels, l)
	}
	if b := p.Box; b != nil {
		coords = append(coords, float32(b.C0)*sc, float32(b.R0)*sc, float32(b.C1)*sc, float32(b.R1)*sc)
		labels = append(labels, 2, 3)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("sam: a prompt needs a box or a point")
	}
	if !p.MultiMask {
		// A padding point (label -1) is what SAM's own predictor adds when
		// there is no box; with it the exported decoder returns its
		// single-mask output instead of the best of three.
		coords = append(coords, 0, 0)
		labels = append(labels, -1)
	}
	mask := p.MaskInput
	hasMask := float32(1)
	if mask == nil {
		mask = make([]float32, LowRes*LowRes)
		hasMask = 0
	} else if len(mask) != LowRes*LowRes {
		return nil, fmt.Errorf("sam: mask input has %d values, want %d", len(mask), LowRes*LowRes)
	}
	n := int64(len(labels))
	var vals []ort.Value
	defer func() {
		for _, v := range vals {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	add := func(shape ort.Shape, data []float32) error {
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return fmt.Errorf("sam decoder input: %w", err)
		}
		vals = append(vals, t)
		return nil
	}
	for _, in := range []struct {
		shape ort.Shape
		data  []float32
	}{
		{ort.NewShape(1, samChannels, samGrid, samGrid), e.Data},
		{ort.NewShape(1, n, 2), coords},
		{ort.NewShape(1, n), labels},
		{ort.NewShape(1, 1, LowRes, LowRes), mask},
		{ort.NewShape(1), []float32{hasMask}},
		{ort.NewShape(2), []float32{float32(e.Rows), float32(e.Cols)}},
	} {
		if err := add(in.shape, in.data); err != nil {
			return nil, err
		}
	}
	outs := make([]ort.Value, 3)
	end := s.sched.foreground()
	t0 := time.Now()
	err := s.dec.Run(ctx, vals, outs)
	s.stats.decodeNanos.Add(int64(time.Since(t0)))
	end()
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	masks, ok1 := outs[0].(*ort.Tensor[float32])
	iou, ok2 := outs[1].(*ort.Tensor[float32])
	low, ok3 := outs[2].(*ort.Tensor[float32])
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("sam decoder %q: outputs are not float32 tensors", s.dec.Manifest.Name)
	}
	ms, ls := masks.GetShape(), low.GetShape()
	if len(ms) != 4 || ms[2] != int64(e.Rows) || ms[3] != int64(e.Cols) || len(ls) != 4 || ls[2] != LowRes || ls[3] != LowRes {
		return nil, fmt.Errorf("sam decoder %q: unexpected output shapes %v and %v", s.dec.Manifest.Name, ms, ls)
	}
	// With several masks (multi-mask export) the first is the one chosen.
	pred := &Prediction{
		IoU:    iou.GetData()[0],
		LowRes: append([]float32(nil), low.GetData()[:LowRes*LowRes]...),
		Mask:   section.NewMask(e.Rows, e.Cols),
	}
	// One pass over the full-size logits makes the mask and everything
	// its users ask of it: a propagation decodes every slice of an organ,
	// and each pass over a 512² image costs as much as a tenth of the
	// decoder.
	logits := masks.GetData()[:e.Rows*e.Cols]
	hi, lo := 0, 0
	b := section.Box{R0: e.Rows, C0: e.Cols, R1: -1, C1: -1}
	for r := 0; r < e.Rows; r++ {
		row := logits[r*e.Cols : (r+1)*e.Cols]
		out := pred.Mask.Data[r*e.Cols : (r+1)*e.Cols]
		for c, v := range row {
			if v <= -1 {
				continue
			}
			lo++
			if v > 1 {
				hi++
			}
			if v > 0 {
				out[c] = true
				pred.Area++
				b.R0, b.R1 = min(b.R0, r), max(b.R1, r)
				b.C0, b.C1 = min(b.C0, c), max(b.C1, c)
			}
		}
	}
	pred.Bounds = b
	if lo > 0 {
		pred.Stability = float64(hi) / float64(lo)
	}
	return pred, nil
}

// LowResLogits turns a mask on the slice image into the decoder's mask
// prompt: 256x256 logits over the encoder's square, +amp inside the mask,
// -amp outside and in the padding. Each low-resolution cell takes the mask
// value under its centre.
func (s *Model) LowResLogits(m *section.Mask, amp float32) []float32 {
	out := make([]float32, LowRes*LowRes)
	rows, cols := s.LowResPixels(m.Rows, m.Cols)
	for v, r := range rows {
		line := out[v*LowRes : (v+1)*LowRes]
		for u, c := range cols {
			if r >= 0 && c >= 0 && m.Data[r*m.Cols+c] {
				line[u] = amp
			} else {
				line[u] = -amp
			}
		}
	}
	return out
}

// LowResPixels returns, for each row and each column of low-resolution
// cells, the row or column of the slice image's pixel under the cell's
// centre (-1 in the padding): the same for every cell of a row or column.
func (s *Model) LowResPixels(rows, cols int) (r, c []int) {
	sc := float64(s.size) / float64(max(rows, cols)) // slice px -> encoder px
	cell := float64(s.size) / LowRes                 // encoder px per low-res cell
	under := func(n int) []int {
		idx := make([]int, LowRes)
		for v := range idx {
			p := int(((float64(v)+0.5)*cell)/sc - 0.5 + 0.5)
			if p < 0 || p >= n {
				p = -1
			}
			idx[v] = p
		}
		return idx
	}
	return under(rows), under(cols)
}

// SliceEmbedding returns the embedding of slice k of v in window w.
func (s *Model) SliceEmbedding(ctx context.Context, v *volume.Volume, sl *section.Slicer, k int, w models.Window) (*Embedding, error) {
	return s.sliceEmbeddingCut(ctx, v, sl, k, w, false)
}

// sliceEmbeddingCut embeds slice k of v, cutting its image out of the
// volume only when its key is not known or the cache does not hold it:
// the background encoder and a propagation ask for every slice, and a
// megabyte cut out each time would be garbage enough to grow the heap.
func (s *Model) sliceEmbeddingCut(ctx context.Context, v *volume.Volume, sl *section.Slicer, k int, w models.Window, background bool) (*Embedding, error) {
	if key, ok := s.knownKey(v, sl, k, w); ok {
		if e, ok := s.cache.Get(key); ok {
			s.stats.hits.Add(1)
			return e.expanded(), nil
		}
	}
	b := buffer(&s.pools[poolGrey], sl.Rows*sl.Cols)
	defer s.pools[poolGrey].Put(b)
	img, err := sl.ImageInto(*b, v, k)
	if err != nil {
		return nil, err
	}
	return s.sliceEmbedding(ctx, v, sl, k, img, w, background)
}

// SliceEmbeddingBackground is SliceEmbedding at the lowest priority (see
// EmbedBackground).
func (s *Model) SliceEmbeddingBackground(ctx context.Context, v *volume.Volume, sl *section.Slicer, k int, w models.Window) (*Embedding, error) {
	return s.sliceEmbeddingCut(ctx, v, sl, k, w, true)
}

// SliceCached reports whether the embedding of slice k of v in window w is
// in the memory or disk cache, without computing it.
func (s *Model) SliceCached(v *volume.Volume, sl *section.Slicer, k int, w models.Window) (bool, error) {
	if key, ok := s.knownKey(v, sl, k, w); ok {
		return s.cache.Has(key), nil
	}
	b := buffer(&s.pools[poolGrey], sl.Rows*sl.Cols)
	defer s.pools[poolGrey].Put(b)
	img, err := sl.ImageInto(*b, v, k)
	if err != nil {
		return false, err
	}
	return s.cache.Has(s.sliceKey(v, sl, k, img, w)), nil
}

// knownKey returns the remembered cache key of slice k of v in window w
// (see sliceKey), if there is one.
func (s *Model) knownKey(v *volume.Volume, sl *section.Slicer, k int, w models.Window) (string, bool) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if s.keys.vol != v {
		return "", false
	}
	key, ok := s.keys.m[sliceKeyOf{axis: sl.Axis(), k: k, w: w}]
	return key, ok
}

// SliceImageEmbedding is SliceEmbedding for a caller that has already
// cut img, slice k of v, out of the volume (into a buffer it reuses).
func (s *Model) SliceImageEmbedding(ctx context.Context, v *volume.Volume, sl *section.Slicer, k int, img []float32, w models.Window) (*Embedding, error) {
	return s.sliceEmbedding(ctx, v, sl, k, img, w, false)
}

// sliceEmbedding embeds img, slice k of v, remembering its cache key.
func (s *Model) sliceEmbedding(ctx context.Context, v *volume.Volume, sl *section.Slicer, k int, img []float32, w models.Window, background bool) (*Embedding, error) {
	if w.Width <= 0 {
		return nil, fmt.Errorf("sam: window width %v must be positive", w.Width)
	}
	return s.embedKeyed(ctx, s.sliceKey(v, sl, k, img, w), img, sl.Rows, sl.Cols, w, background)
}

// sliceKey returns the cache key of img, slice k of v in window w. Hashing
// a slice costs a tenth of a decoder run, and a propagation, the
// background encoder and each new prompt look the same slices up again and
// again: the keys of the last volume asked about are remembered. Volumes
// are never modified once made (the app's session keeps to that), so a
// slice's key cannot change under the same *volume.Volume.
func (s *Model) sliceKey(v *volume.Volume, sl *section.Slicer, k int, img []float32, w models.Window) string {
	mk := sliceKeyOf{axis: sl.Axis(), k: k, w: w}
	s.keys.mu.Lock()
	if s.keys.vol != v {
		s.keys.vol, s.keys.m = v, map[sliceKeyOf]string{}
	}
	key, ok := s.keys.m[mk]
	s.keys.mu.Unlock()
	if ok {
		return key
	}
	key = s.embeddingKey(img, sl.Rows, sl.Cols, w)
	s.keys.mu.Lock()
	if s.keys.vol == v {
		s.keys.m[mk] = key
	}
	s.keys.mu.Unlock()
	return key
}

// sliceKeyOf names a slice image of the remembered volume.
type sliceKeyOf struct {
	axis, k int
	w       models.Window
}

// SegmentBox is the "draw a box" prompt: SAM's mask for the box on slice k
// of v, seen in window w (DefaultWindow unless the segment has its own).
// box is given in voxel
// coordinates (two opposite corners, any order; the slice component is
// ignored); the mask is on the slice image (radiological orientation, see
// Slicer), which Slicer.WriteMask writes back into a label volume.
func (s *Model) SegmentBox(ctx context.Context, v *volume.Volume, plane section.Plane, k int, a, b [3]int, w models.Window) (*section.Mask, error) {
	sl, err := section.NewSlicer(v.Grid, plane)
	if err != nil {
		return nil, err
	}
	if err := sl.CheckSlice(k); err != nil {
		return nil, err
	}
	_, r0, c0 := sl.Pixel(a)
	_, r1, c1 := sl.Pixel(b)
	box := section.Box{R0: min(r0, r1), C0: min(c0, c1), R1: max(r0, r1), C1: max(c0, c1)}
	box.R0, box.C0 = max(box.R0, 0), max(box.C0, 0)
	box.R1, box.C1 = min(box.R1, sl.Rows-1), min(box.C1, sl.Cols-1)
	if box.R0 > box.R1 || box.C0 > box.C1 {
		return nil, fmt.Errorf("box %v-%v lies outside slice %d", a, b, k)
	}
	e, err := s.SliceEmbedding(ctx, v, sl, k, w)
	if err != nil {
		return nil, err
	}
	p, err := s.Decode(ctx, e, Prompt{Box: &box})
	if err != nil {
		return nil, err
	}
	return p.Mask, nil
}

// Provider returns the execution provider the encoder runs on, the one
// that decides how long a slice takes.
func (s *Model) Provider() onnxrt.Provider { return s.enc.Provider() }

// Models returns the encoder and decoder SAM runs.
func (s *Model) Models() []onnxrt.ModelRef { return []onnxrt.ModelRef{s.enc.Ref(), s.dec.Ref()} }

// Placements returns where the SAM encoder and decoder run, in that order:
// on CUDA the encoder runs as its variant (sam-encoder-cuda), and either
// may run on the CPU with the reason.
func (s *Model) Placements() []onnxrt.Placement {
	return []onnxrt.Placement{s.enc.Placement(), s.dec.Placement()}
}

// Encoder returns the encoder's manifest (the file that runs: on CUDA,
// possibly its variant).
func (s *Model) Encoder() *models.Manifest { return s.enc.Manifest }

// Decoder returns the decoder's manifest (the file that runs).
func (s *Model) Decoder() *models.Manifest { return s.dec.Manifest }
