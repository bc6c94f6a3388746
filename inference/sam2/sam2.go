package sam2

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/inference/embedcache"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
)

// SAM 2 geometry, fixed by the model family and the export (sam2Parts):
// the image encoder sees a 1024² square and returns 256 channels on a 64²
// grid plus two finer maps for the decoder; memories have 64 channels on
// the same grid; the decoder's mask is 256² over the square.
const (
	sam2Size                     = 1024
	sam2Grid                     = 64
	sam2Channels                 = 256
	sam2MemDim                   = 64
	sam2LowRes                   = 256
	sam2HR0Channels, sam2HR0Grid = 32, 256
	sam2HR1Channels, sam2HR1Grid = 64, 128
	// sam2MaxPointers is how many object pointers the memory attention
	// can place in time: the export normalises their distances by 15.
	sam2MaxPointers = 16
	// sam2MaskLogit is an anchor mask given to the memory encoder: the
	// decoder's mask_for_mem of a certain mask (sigmoid scaled by 20,
	// shifted by -10) is ±10.
	sam2MaskLogit = 10
)

// Options configure LoadSAM2. The zero value gives the defaults.
type Options struct {
	// Memories is how many recently propagated slices the memory bank
	// holds besides the anchor; zero means all the export's temporal code
	// has room for (6 for every SAM 2 and 2.1 model), which is also the
	// most.
	Memories int
	// CacheFrames is how many slices' encoder outputs stay in memory
	// (about 25 MB each); zero means 16. Between two anchors every slice
	// is seen from both ends, and a span up to this long is encoded once.
	CacheFrames int
	// CacheDir, when set, also keeps encoder outputs on disk there (25 MB
	// a slice, so it is off unless asked for); keyed like SAM's embeddings.
	CacheDir string
	// MinIoU and MinAreaFraction end a chain outward from the outermost
	// anchors: a slice where the decoder's predicted IoU is below MinIoU,
	// or the mask's area below MinAreaFraction of the anchor's, counts as
	// past the structure, as does one where the object score says it is
	// absent. Zero means 0.3 and 0.02.
	MinIoU          float64
	MinAreaFraction float64
	// PriorMin removes the pixels whose prior probability (a U-Net's,
	// when the request carries one) is below it; zero means 0.1.
	PriorMin float64
}

func (o Options) withDefaults(maxMemories int) Options {
	if o.Memories <= 0 || o.Memories > maxMemories {
		o.Memories = maxMemories
	}
	if o.CacheFrames <= 0 {
		o.CacheFrames = 16
	}
	if o.MinIoU == 0 {
		o.MinIoU = 0.3
	}
	if o.MinAreaFraction == 0 {
		o.MinAreaFraction = 0.02
	}
	if o.PriorMin == 0 {
		o.PriorMin = 0.1
	}
	return o
}

// Model runs the four parts of a SAM 2 export as the "sam2" propagation
// engine (it implements propagate.Engine): every slice is a video frame, and a
// memory bank carries the anchor and the most recent slices forward.
// Safe for concurrent use.
type Model struct {
	enc, attn, menc, dec *onnxrt.Session
	window               models.Preprocess
	mean, std            [3]float32
	opts                 Options
	cache                *embedcache.Cache[*sam2Frame]
	// temporal is the memory encoder's temporal code: one 64-vector per
	// memory slot, the last for the conditioning frame. A constant of
	// the model, read once at load.
	temporal []float32

	mu  sync.Mutex
	pos []float32 // vision_pos_embed, shared by every cached frame
}

// LoadSAM2 loads the SAM 2 export in dir: four ONNX files, each with its
// manifest (KIND.json, written by WriteSAM2Manifests; docs/sam2.md). A
// missing or damaged file, or one of another export, is refused naming the
// file and what is wrong with it.
func Load(r *onnxrt.Runtime, dir string, opts Options) (*Model, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("sam2 folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("sam2 folder %s: not a folder", dir)
	}
	parts := sam2Parts()
	sessions := make([]*onnxrt.Session, len(parts))
	closeAll := func() {
		for _, s := range sessions {
			s.Close()
		}
	}
	for i, p := range parts {
		m, err := loadSAM2Manifest(dir, p)
		if err == nil {
			sessions[i], err = r.LoadModel(m, p.kind)
		}
		if err != nil {
			closeAll()
			return nil, err
		}
	}
	s := &Model{enc: sessions[0], attn: sessions[1], menc: sessions[2], dec: sessions[3],
		window: sessions[0].Manifest.Preprocess,
		mean:   [3]float32{123.675, 116.28, 103.53}, std: [3]float32{58.395, 57.12, 57.375}}
	p := s.window
	switch {
	case p.Normalize != models.NormSAM || p.Size != [2]int{sam2Size, sam2Size}:
		err = fmt.Errorf("preprocess: normalize %q size %v, want %q and [%d, %d]", p.Normalize, p.Size, models.NormSAM, sam2Size, sam2Size)
	case p.Window.Width <= 0:
		err = fmt.Errorf("preprocess.window.width %v must be positive", p.Window.Width)
	case len(p.Mean) != len(p.Std) || (len(p.Mean) != 0 && len(p.Mean) != 3) || slices.ContainsFunc(p.Std, func(x float64) bool { return !(x > 0) }):
		err = fmt.Errorf("preprocess.mean and std need 3 values each (std positive), or none (ImageNet's)")
	}
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("sam2 folder %s: %s: %w", dir, s.enc.Manifest.Path, err)
	}
	for c := 0; c < 3 && len(p.Mean) == 3; c++ {
		s.mean[c], s.std[c] = float32(p.Mean[c]), float32(p.Std[c])
	}
	if s.temporal, err = s.temporalCode(); err != nil {
		closeAll()
		return nil, err
	}
	s.opts = opts.withDefaults(len(s.temporal)/sam2MemDim - 1)
	s.cache = newSAM2FrameCache(s.opts.CacheFrames, s.opts.CacheDir, s.sharedPos)
	return s, nil
}

// temporalCode runs the memory encoder once on an empty frame to read its
// temporal code, which does not depend on the input; it needs a slot for
// the conditioning frame and at least one for a recent slice.
func (s *Model) temporalCode() ([]float32, error) {
	f := &sam2Frame{pix: make([]float32, sam2Channels*sam2Grid*sam2Grid)}
	mask := make([]float32, sam2Size*sam2Size)
	for i := range mask {
		mask[i] = -sam2MaskLogit
	}
	_, _, code, err := s.memorize(context.Background(), f, mask, -sam2MaskLogit)
	if err != nil {
		return nil, err
	}
	if len(code) < 2*sam2MemDim {
		return nil, fmt.Errorf("sam2 memory encoder %s: temporal_code has %d slots, need at least 2", s.menc.Manifest.ModelPath(), len(code)/sam2MemDim)
	}
	return code, nil
}

// Close releases the four sessions.
func (s *Model) Close() error {
	var first error
	for _, x := range []*onnxrt.Session{s.enc, s.attn, s.menc, s.dec} {
		if err := x.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Models returns the four models the engine runs.
func (s *Model) Models() []onnxrt.ModelRef {
	return []onnxrt.ModelRef{s.enc.Ref(), s.attn.Ref(), s.menc.Ref(), s.dec.Ref()}
}

// DefaultWindow returns the encoder manifest's window, the one every
// segment is seen in unless the caller chooses another.
func (s *Model) DefaultWindow() models.Window { return s.window.Window }

// Options returns the options the engine runs with, defaults filled in.
func (s *Model) Options() Options { return s.opts }

// sam2Frame is the image encoder's output for one slice image.
type sam2Frame struct {
	key        string
	rows, cols int
	pix        []float32 // 256 x 64 x 64, the memory encoder's input
	vision     []float32 // 256 x 64 x 64, with the no-memory embedding added
	hr0, hr1   []float32 // 32 x 256², 64 x 128²
	pos        []float32 // 4096 x 256, the same for every frame
}

// frameKey identifies an encoding by what it is a function of: the
// encoder (its sha256), the window and the slice's pixels.
func (s *Model) frameKey(img []float32, rows, cols int, w models.Window) string {
	h := sha256.New()
	h.Write([]byte("sam2\x00" + s.enc.Manifest.SHA256))
	var b [8]byte
	for _, v := range []float64{float64(rows), float64(cols), w.Level, w.Width} {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	buf := make([]byte, 4*len(img))
	for i, v := range img {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}

// preprocess turns a slice image (HU) into the encoder's input: window to
// [0, 255], three equal channels, stretched to 1024 x 1024 as SAM 2's
// video predictor resizes its frames (bilinear here), then (x - mean) / std.
func (s *Model) preprocess(img []float32, rows, cols int, w models.Window) []float32 {
	lo, _ := w.Range()
	grey := make([]float32, len(img))
	for i, v := range img {
		grey[i] = float32(section.Windowed(v, lo, w.Width) * 255)
	}
	plane := section.ResizeBilinear(grey, rows, cols, sam2Size, sam2Size)
	n := sam2Size * sam2Size
	out := make([]float32, 3*n)
	for c := 0; c < 3; c++ {
		for i, v := range plane {
			out[c*n+i] = (v - s.mean[c]) / s.std[c]
		}
	}
	return out
}

// encode returns the encoder's output for a slice image in window w, from
// the cache when it is there.
func (s *Model) encode(ctx context.Context, img []float32, rows, cols int, w models.Window) (*sam2Frame, error) {
	if len(img) != rows*cols || rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("sam2: image of %d pixels is not %dx%d", len(img), rows, cols)
	}
	key := s.frameKey(img, rows, cols, w)
	if f, ok := s.cache.Get(key); ok {
		return f, nil
	}
	in, err := ort.NewTensor(ort.NewShape(1, 3, sam2Size, sam2Size), s.preprocess(img, rows, cols, w))
	if err != nil {
		return nil, fmt.Errorf("sam2 encoder input: %w", err)
	}
	defer in.Destroy()
	// The encoder's outputs have fixed shapes: ONNX Runtime writes them
	// straight into the frame's arrays.
	f := &sam2Frame{key: key, rows: rows, cols: cols}
	outs := make([]ort.Value, 5)
	defer sam2Destroy(outs)
	for i, o := range []struct {
		dst   *[]float32
		shape ort.Shape
	}{
		{&f.pix, ort.NewShape(1, sam2Channels, sam2Grid, sam2Grid)},
		{&f.hr0, ort.NewShape(1, sam2HR0Channels, sam2HR0Grid, sam2HR0Grid)},
		{&f.hr1, ort.NewShape(1, sam2HR1Channels, sam2HR1Grid, sam2HR1Grid)},
		{&f.vision, ort.NewShape(1, sam2Channels, sam2Grid, sam2Grid)},
		{&f.pos, ort.NewShape(sam2Grid*sam2Grid, 1, sam2Channels)},
	} {
		*o.dst = make([]float32, o.shape.FlattenedSize())
		if outs[i], err = ort.NewTensor(o.shape, *o.dst); err != nil {
			return nil, fmt.Errorf("sam2 encoder output: %w", err)
		}
	}
	if err := s.enc.Run(ctx, []ort.Value{in}, outs); err != nil {
		return nil, err
	}
	for _, d := range [][]float32{f.pix, f.hr0, f.hr1, f.vision, f.pos} {
		if slices.ContainsFunc(d, func(v float32) bool { return v-v != 0 }) {
			return nil, fmt.Errorf("model %q (%s): an output holds NaN or infinity", s.enc.Manifest.Name, s.enc.Manifest.ModelPath())
		}
	}
	f.pos = s.sharedPos(f.pos)
	s.cache.Put(key, f)
	return f, nil
}

// sharedPos returns the one copy of the positional embedding that every
// frame shares (it depends on the encoder only), so that cached frames do
// not hold 4 MB copies of it.
func (s *Model) sharedPos(p []float32) []float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pos == nil {
		s.pos = p
	}
	if slices.Equal(s.pos, p) {
		return s.pos
	}
	return p
}

// sam2Attention is the memory attention's input: the memory bank as the
// export takes it (sam2Bank.inputs).
type sam2Attention struct {
	pointers []float32 // memory_0: n x 256, the conditioning frame's first
	memories []float32 // memory_1: m x 64 x 64 x 64
	pos      []float32 // memory_pos_embed: (m*4096 + 4n) x 64
	condDiff float32   // slices between this frame and the conditioning one
}

// attend conditions a frame's features on the memory bank.
func (s *Model) attend(ctx context.Context, f *sam2Frame, a sam2Attention) ([]float32, error) {
	n := int64(len(a.pointers) / sam2Channels)
	m := int64(len(a.memories) / (sam2MemDim * sam2Grid * sam2Grid))
	rows := int64(len(a.pos) / sam2MemDim)
	if n < 1 || m < 1 || rows != m*sam2Grid*sam2Grid+4*n {
		return nil, fmt.Errorf("sam2: memory bank of %d pointers, %d memories and %d position rows does not fit together", n, m, rows)
	}
	var vals []ort.Value
	defer func() { sam2Destroy(vals) }()
	for _, in := range []struct {
		shape ort.Shape
		data  []float32
	}{
		{ort.NewShape(1, sam2Channels, sam2Grid, sam2Grid), f.vision},
		{ort.NewShape(sam2Grid*sam2Grid, 1, sam2Channels), f.pos},
		{ort.NewShape(1, n, sam2Channels), a.pointers},
		{ort.NewShape(1, m, sam2MemDim, sam2Grid, sam2Grid), a.memories},
		{ort.NewShape(1, rows, sam2MemDim), a.pos},
	} {
		t, err := ort.NewTensor(in.shape, in.data)
		if err != nil {
			return nil, fmt.Errorf("sam2 memory attention input: %w", err)
		}
		vals = append(vals, t)
	}
	diff, err := ort.NewScalar(a.condDiff)
	if err != nil {
		return nil, fmt.Errorf("sam2 memory attention input: %w", err)
	}
	vals = append(vals, diff)
	outs := make([]ort.Value, 1)
	defer sam2Destroy(outs)
	if err := s.attn.Run(ctx, vals, outs); err != nil {
		return nil, err
	}
	return sam2Output(s.attn, outs, 0, 1, sam2Channels, sam2Grid, sam2Grid)
}

// sam2Decoded is the mask decoder's answer for one frame.
type sam2Decoded struct {
	pointer    []float32 // obj_ptr, 256
	maskForMem []float32 // 1024², what the memory encoder takes
	low        []float32 // 256² mask logits over the square
	iou        float32   // the decoder's IoU estimate of its best mask
	occ        float32   // object score logit: > 0 when the object is there
}

// decode runs the mask decoder on (memory-conditioned) features. coords
// are in the encoder's 1024² frame; labels are SAM's (1 positive, 0
// negative, 2 and 3 box corners, -1 padding).
func (s *Model) decode(ctx context.Context, embed []float32, f *sam2Frame, coords, labels []float32) (*sam2Decoded, error) {
	n := int64(len(labels))
	if n == 0 || len(coords) != 2*len(labels) {
		return nil, fmt.Errorf("sam2: %d point coordinates for %d labels", len(coords), len(labels))
	}
	var vals []ort.Value
	defer func() { sam2Destroy(vals) }()
	for _, in := range []struct {
		shape ort.Shape
		data  []float32
	}{
		{ort.NewShape(1, n, 2), coords},
		{ort.NewShape(1, n), labels},
		{ort.NewShape(1, sam2Channels, sam2Grid, sam2Grid), embed},
		{ort.NewShape(1, sam2HR0Channels, sam2HR0Grid, sam2HR0Grid), f.hr0},
		{ort.NewShape(1, sam2HR1Channels, sam2HR1Grid, sam2HR1Grid), f.hr1},
	} {
		t, err := ort.NewTensor(in.shape, in.data)
		if err != nil {
			return nil, fmt.Errorf("sam2 decoder input: %w", err)
		}
		vals = append(vals, t)
	}
	outs := make([]ort.Value, 5)
	defer sam2Destroy(outs)
	if err := s.dec.Run(ctx, vals, outs); err != nil {
		return nil, err
	}
	d := &sam2Decoded{}
	var iou, occ []float32
	var err error
	for i, o := range []struct {
		dst   *[]float32
		shape []int64
	}{
		{&d.pointer, []int64{1, sam2Channels}},
		{&d.maskForMem, []int64{1, 1, sam2Size, sam2Size}},
		{&d.low, []int64{1, 1, sam2LowRes, sam2LowRes}},
		{&iou, []int64{1, 1}},
		{&occ, []int64{1, 1}},
	} {
		if *o.dst, err = sam2Output(s.dec, outs, i, o.shape...); err != nil {
			return nil, err
		}
	}
	d.iou, d.occ = iou[0], occ[0]
	return d, nil
}

// memorize encodes a frame's mask (mask_for_mem, 1024²) into a memory: its
// features (64 x 64²) and positional encoding (4096 x 64), and the
// temporal code (slots x 64).
func (s *Model) memorize(ctx context.Context, f *sam2Frame, maskForMem []float32, occ float32) (feat, pos, temporal []float32, err error) {
	var vals []ort.Value
	defer func() { sam2Destroy(vals) }()
	for _, in := range []struct {
		shape ort.Shape
		data  []float32
	}{
		{ort.NewShape(1, 1, sam2Size, sam2Size), maskForMem},
		{ort.NewShape(1, sam2Channels, sam2Grid, sam2Grid), f.pix},
		{ort.NewShape(1, 1), []float32{occ}},
	} {
		t, err := ort.NewTensor(in.shape, in.data)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sam2 memory encoder input: %w", err)
		}
		vals = append(vals, t)
	}
	outs := make([]ort.Value, 3)
	defer sam2Destroy(outs)
	if err := s.menc.Run(ctx, vals, outs); err != nil {
		return nil, nil, nil, err
	}
	if feat, err = sam2Output(s.menc, outs, 0, 1, sam2MemDim, sam2Grid, sam2Grid); err != nil {
		return nil, nil, nil, err
	}
	if pos, err = sam2Output(s.menc, outs, 1, 1, sam2Grid*sam2Grid, sam2MemDim); err != nil {
		return nil, nil, nil, err
	}
	if temporal, err = sam2Output(s.menc, outs, 2, -1, 1, 1, sam2MemDim); err != nil {
		return nil, nil, nil, err
	}
	return feat, pos, temporal, nil
}

// sam2Output copies output i of a run after checking that it is a float32
// tensor of the given shape (-1: any size), naming the model when not.
func sam2Output(s *onnxrt.Session, outs []ort.Value, i int, shape ...int64) ([]float32, error) {
	name := s.Manifest.Outputs[i].Name
	t, ok := outs[i].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("model %q (%s): output %q is not a float32 tensor", s.Manifest.Name, s.Manifest.ModelPath(), name)
	}
	got := t.GetShape()
	bad := len(got) != len(shape)
	for d := 0; !bad && d < len(shape); d++ {
		bad = shape[d] >= 0 && got[d] != shape[d]
	}
	if bad {
		return nil, fmt.Errorf("model %q (%s): output %q has shape %v, want %v", s.Manifest.Name, s.Manifest.ModelPath(), name, got, shape)
	}
	// onnxruntime_go copies outputs ONNX Runtime allocated into Go memory,
	// which outlives the tensor: no copy is needed here.
	data := t.GetData()
	for _, v := range data {
		if v-v != 0 { // NaN or ±Inf
			return nil, fmt.Errorf("model %q (%s): output %q holds %v", s.Manifest.Name, s.Manifest.ModelPath(), name, v)
		}
	}
	return data, nil
}

func sam2Destroy(vs []ort.Value) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}

// sam2MaskForMem turns a mask on the slice image into the memory encoder's
// input: ±sam2MaskLogit over the 1024² square the slice is stretched to,
// each cell taking the slice pixel under its centre.
func sam2MaskForMem(m *section.Mask) []float32 {
	out := make([]float32, sam2Size*sam2Size)
	cols := make([]int, sam2Size)
	for x := range cols {
		cols[x] = min((2*x+1)*m.Cols/(2*sam2Size), m.Cols-1)
	}
	for y := 0; y < sam2Size; y++ {
		r := min((2*y+1)*m.Rows/(2*sam2Size), m.Rows-1)
		row := out[y*sam2Size : (y+1)*sam2Size]
		for x, c := range cols {
			if m.Data[r*m.Cols+c] {
				row[x] = sam2MaskLogit
			} else {
				row[x] = -sam2MaskLogit
			}
		}
	}
	return out
}

// sam2BoxPrompt is the decoder prompt for a mask's bounding box: its two
// corners (labels 2 and 3) in the 1024² frame, scaled per axis since SAM 2
// stretches the slice to the square.
func sam2BoxPrompt(m *section.Mask) (coords, labels []float32, ok bool) {
	b, ok := m.Bounds()
	if !ok {
		return nil, nil, false
	}
	sx, sy := float32(sam2Size)/float32(m.Cols), float32(sam2Size)/float32(m.Rows)
	return []float32{float32(b.C0) * sx, float32(b.R0) * sy, float32(b.C1) * sx, float32(b.R1) * sy},
		[]float32{2, 3}, true
}

// sam2Probabilities turns the decoder's 256² logits into probabilities on
// the slice image (bilinear, as SAM 2 upsamples its masks).
func sam2Probabilities(low []float32, rows, cols int) []float32 {
	p := section.ResizeBilinear(low, sam2LowRes, sam2LowRes, rows, cols)
	for i, v := range p {
		p[i] = float32(sam2Sigmoid(float64(v)))
	}
	return p
}
