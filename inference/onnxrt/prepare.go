package onnxrt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/internal/onnxgraph"
	"github.com/polyseg/polyseg/models"
)

// PrepareOptions configure PrepareCUDA. The zero value is usable.
type PrepareOptions struct {
	// Strategy picks what replaces a Slice; empty means SliceAsSplit.
	Strategy onnxgraph.SliceStrategy
	// OutDir receives NAME-cuda.onnx and NAME-cuda.json; empty means the
	// runtime's model folder.
	OutDir string
	// MaxAbsDiff is the largest difference between the variant's and the
	// original's outputs on the CPU that is accepted; zero means 1e-5.
	MaxAbsDiff float64
}

// maxFoldElements bounds a folded value: shape arithmetic is a few
// integers, and folding big tensors would only grow the file.
const maxFoldElements = 1 << 16

// PrepareCUDA makes the CUDA variant of a SAM encoder or decoder: the same
// function without the operators ONNX Runtime 1.29's CUDA plugin crashes
// on (pluginUnsafeOps; docs/gpu.md). It fixes the encoder's batch size to
// 1, replaces every value that is the same in every run (the shape
// arithmetic) by a constant, measured by running the model once on the CPU,
// prunes what no output needs, and replaces each Slice by Split or Gather.
// The variant is checked against the original on the CPU (pseudo-random
// inputs, every output within opts.MaxAbsDiff) before its file and
// manifest, with their sha256 and provenance, are written. Making it again
// from the same model gives the same bytes.
func (r *Runtime) PrepareCUDA(ctx context.Context, m *models.Manifest, opts PrepareOptions) (*models.Manifest, error) {
	if m.Kind != models.KindSAMEncoder && m.Kind != models.KindSAMDecoder {
		return nil, fmt.Errorf("model %q is a %s: only SAM encoders and decoders have CUDA variants", m.Name, m.Kind)
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	if opts.Strategy == "" {
		opts.Strategy = onnxgraph.SliceAsSplit
	}
	if opts.Strategy != onnxgraph.SliceAsSplit && opts.Strategy != onnxgraph.SliceAsGather {
		return nil, fmt.Errorf("slice strategy %q: want split or gather", opts.Strategy)
	}
	if opts.OutDir == "" {
		opts.OutDir = r.ModelDir()
	}
	if opts.MaxAbsDiff == 0 {
		opts.MaxAbsDiff = 1e-5
	}
	src := m.ModelPath()
	g, err := onnxgraph.Read(src)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", m.Name, err)
	}
	prov := VariantProvenance{DerivedFrom: m.Name, SourceSHA256: m.SHA256, MadeBy: "polyseg gpu-prepare",
		ORTVersion: r.Version(), Strategy: string(opts.Strategy)}

	// The encoder's batch dimension becomes 1 (the app embeds one slice at
	// a time): then every shape in it is a constant.
	if m.Kind == models.KindSAMEncoder {
		fixed := map[string]int64{}
		for _, in := range g.GetGraph().GetInput() {
			if d := in.GetType().GetTensorType().GetShape().GetDim(); len(d) > 0 && d[0].GetDimParam() != "" {
				fixed[d[0].GetDimParam()] = 1
			}
		}
		onnxgraph.FixDims(g, fixed)
		prov.FixedDims = map[string]int{}
		for k, v := range fixed {
			prov.FixedDims[k] = int(v)
		}
	}

	// One run of the original with extra outputs measures every static
	// value and the shape of every Slice's input.
	static := onnxgraph.StaticValues(g)
	cands := onnxgraph.FoldCandidates(g, static)
	var sliceInputs []string
	for _, n := range g.GetGraph().GetNode() {
		if n.GetOpType() == "Slice" && len(n.GetInput()) > 0 {
			sliceInputs = append(sliceInputs, n.GetInput()[0])
		}
	}
	inputs, err := samProbeInputs(m, 1)
	if err != nil {
		return nil, err
	}
	defer destroyAll(inputs)
	shapes, values, err := r.measure(ctx, g, m, inputs, append(slices.Clone(cands), sliceInputs...), cands)
	if err != nil {
		return nil, fmt.Errorf("model %q: measure %s: %w", m.Name, src, err)
	}

	fold := map[string]*pb.TensorProto{}
	for _, name := range cands {
		if t := values[name]; t != nil {
			fold[name] = t
		}
	}
	info := map[string]onnxgraph.SliceInfo{}
	for _, name := range sliceInputs {
		dims, ok := shapes[name]
		if !ok {
			continue
		}
		st := make([]bool, len(dims))
		for i := range st {
			st[i] = static.Shape[name]
		}
		info[name] = onnxgraph.SliceInfo{Dims: dims, Static: st}
	}
	onnxgraph.SetConstants(g, fold)
	prov.Folded = len(fold)
	prov.Pruned = onnxgraph.Prune(g)
	if prov.Slices, err = onnxgraph.ReplaceSlices(g, info, opts.Strategy, true); err != nil {
		return nil, fmt.Errorf("model %q: %w", m.Name, err)
	}
	onnxgraph.Prune(g)
	if bad := unsafeOps(onnxgraph.OpTypes(g)); len(bad) > 0 {
		return nil, fmt.Errorf("model %q: %s left after the rewrite", m.Name, strings.Join(bad, ", "))
	}
	data, err := onnxgraph.Encode(g)
	if err != nil {
		return nil, err
	}

	// The variant must compute what the original computes.
	check, err := samProbeInputs(m, 2)
	if err != nil {
		return nil, err
	}
	defer destroyAll(check)
	diff, err := r.compareOnCPU(ctx, m, data, check)
	if err != nil {
		return nil, fmt.Errorf("model %q: check the variant: %w", m.Name, err)
	}
	if diff > opts.MaxAbsDiff || math.IsNaN(diff) {
		return nil, fmt.Errorf("model %q: the variant differs from the original by %g (more than %g); not written", m.Name, diff, opts.MaxAbsDiff)
	}
	prov.Check = &VariantCheck{Inputs: "pseudo-random, seed 2", MaxAbsDiff: diff}

	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("model folder %s: %w", opts.OutDir, err)
	}
	name := m.Name + VariantSuffix
	onnxPath := filepath.Join(opts.OutDir, name+".onnx")
	if err := atomicfile.WriteFile(onnxPath, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return nil, fmt.Errorf("write %s: %w", onnxPath, err)
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("read signature of %s: %w", onnxPath, err)
	}
	sum := sha256.Sum256(data)
	v := *m
	v.Name, v.File, v.SHA256 = name, name+".onnx", hex.EncodeToString(sum[:])
	v.Inputs, v.Outputs = tensorsOf(ins), tensorsOf(outs)
	v.Licence = m.Licence + "; rewritten by polyseg gpu-prepare (the same function without Slice)"
	if v.Provenance, err = json.Marshal(prov); err != nil {
		return nil, err
	}
	if err := models.Write(&v, filepath.Join(opts.OutDir, name+".json")); err != nil {
		return nil, err
	}
	return models.Load(v.Path)
}

// samProbeInputs makes inputs for a SAM model from a fixed seed: an image
// in SAM's normalised range for the encoder; for the decoder an embedding,
// a box and its padding point (and a click for even seeds), an empty mask
// prompt and a 512 x 512 image (480 x 512 for even seeds).
func samProbeInputs(m *models.Manifest, seed uint64) ([]ort.Value, error) {
	rng := rand.New(rand.NewPCG(seed, 0x5a4d))
	normal := func(n int, scale float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64()) * scale
		}
		return x
	}
	var vals []ort.Value
	add := func(shape ort.Shape, data []float32) error {
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return err
		}
		vals = append(vals, t)
		return nil
	}
	var err error
	switch m.Kind {
	case models.KindSAMEncoder:
		size := int64(m.Preprocess.Size[0])
		if size <= 0 {
			size = 1024
		}
		err = add(ort.NewShape(1, 3, size, size), normal(int(3*size*size), 1))
	default:
		// Seeds differ in the number of points and the image size, so that
		// a check with another seed than the measuring run catches a value
		// wrongly taken for a constant.
		coords, labels, size := []float32{300, 280, 620, 590, 0, 0}, []float32{2, 3, -1}, []float32{512, 512}
		if seed%2 == 0 {
			coords, labels, size = append([]float32{410, 400}, coords...), append([]float32{1}, labels...), []float32{480, 512}
		}
		// The embedding and the mask prompt take the shapes the decoder's
		// manifest declares (SAM's: 256 x 64 x 64 and 1 x 256 x 256).
		emb, maskIn := staticShape(m, 0), staticShape(m, 3)
		if emb == nil || maskIn == nil {
			err = fmt.Errorf("inputs 0 and 3 need static shapes in the manifest")
			break
		}
		n := int64(len(labels))
		for _, in := range []struct {
			shape ort.Shape
			data  []float32
		}{
			{ort.NewShape(emb...), normal(int(ort.NewShape(emb...).FlattenedSize()), 0.3)},
			{ort.NewShape(1, n, 2), coords},
			{ort.NewShape(1, n), labels},
			{ort.NewShape(maskIn...), make([]float32, ort.NewShape(maskIn...).FlattenedSize())},
			{ort.NewShape(1), []float32{0}},
			{ort.NewShape(2), size},
		} {
			if err = add(in.shape, in.data); err != nil {
				break
			}
		}
	}
	if err != nil {
		destroyAll(vals)
		return nil, fmt.Errorf("model %q: probe inputs: %w", m.Name, err)
	}
	return vals, nil
}

// staticShape returns the shape of the manifest's input i when every
// dimension of it is known, else nil.
func staticShape(m *models.Manifest, i int) []int64 {
	if i >= len(m.Inputs) {
		return nil
	}
	for _, d := range m.Inputs[i].Shape {
		if d <= 0 {
			return nil
		}
	}
	return m.Inputs[i].Shape
}

// measure runs model g once on the CPU and returns the shapes of the
// values named in shapeOf and, for those in valueOf that hold integers or
// booleans, their contents as initializers.
func (r *Runtime) measure(ctx context.Context, g *pb.ModelProto, m *models.Manifest, inputs []ort.Value, shapeOf, valueOf []string) (map[string][]int64, map[string]*pb.TensorProto, error) {
	p := onnxgraph.WithProbes(g, shapeOf, valueOf)
	data, err := onnxgraph.Encode(p.Model)
	if err != nil {
		return nil, nil, err
	}
	var in, out []string
	for _, t := range m.Inputs {
		in = append(in, t.Name)
	}
	for _, x := range shapeOf {
		out = append(out, p.Shapes[x])
	}
	for _, x := range valueOf {
		out = append(out, p.Values[x])
	}
	outs := make([]ort.Value, len(out))
	defer destroyAll(outs)
	if err := r.runData(ctx, data, in, out, inputs, outs); err != nil {
		return nil, nil, err
	}
	shapes := map[string][]int64{}
	for i, x := range shapeOf {
		t, ok := outs[i].(*ort.Tensor[int64])
		if !ok || len(t.GetData()) == 0 {
			return nil, nil, fmt.Errorf("shape of %q: unexpected probe output", x)
		}
		d := t.GetData()
		shapes[x] = slices.Clone(d[:len(d)-1])
	}
	values := map[string]*pb.TensorProto{}
	for i, x := range valueOf {
		dims, ok := shapes[x]
		if !ok {
			return nil, nil, fmt.Errorf("value %q: its shape was not measured", x)
		}
		if t := intTensor(outs[len(shapeOf)+i], dims); t != nil {
			values[x] = t
		}
	}
	return shapes, values, nil
}

// runData runs a serialised model once on the CPU.
func (r *Runtime) runData(ctx context.Context, data []byte, in, out []string, inputs, outputs []ort.Value) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer o.Destroy()
	if err := o.SetIntraOpNumThreads(r.threads); err != nil {
		return err
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, in, out, o)
	if err != nil {
		return err
	}
	defer s.Destroy()
	return s.Run(inputs, outputs)
}

// compareOnCPU runs the original model of m and the serialised variant on
// the same inputs and returns the largest absolute difference over every
// output.
func (r *Runtime) compareOnCPU(ctx context.Context, m *models.Manifest, variant []byte, inputs []ort.Value) (float64, error) {
	orig, err := os.ReadFile(m.ModelPath())
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", m.ModelPath(), err)
	}
	var in, out []string
	for _, t := range m.Inputs {
		in = append(in, t.Name)
	}
	for _, t := range m.Outputs {
		out = append(out, t.Name)
	}
	a, b := make([]ort.Value, len(out)), make([]ort.Value, len(out))
	defer destroyAll(a)
	defer destroyAll(b)
	if err := r.runData(ctx, orig, in, out, inputs, a); err != nil {
		return 0, err
	}
	if err := r.runData(ctx, variant, in, out, inputs, b); err != nil {
		return 0, err
	}
	return MaxAbsDiff(a, b)
}

// MaxAbsDiff returns the largest absolute difference between two lists of
// float32 tensors of equal shapes (NaN where one has NaN and the other
// not).
func MaxAbsDiff(a, b []ort.Value) (float64, error) {
	worst := 0.0
	for i := range a {
		x, ok1 := a[i].(*ort.Tensor[float32])
		y, ok2 := b[i].(*ort.Tensor[float32])
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("output %d is not a float32 tensor", i)
		}
		if !slices.Equal(x.GetShape(), y.GetShape()) {
			return 0, fmt.Errorf("output %d: shapes %v and %v differ", i, x.GetShape(), y.GetShape())
		}
		xd, yd := x.GetData(), y.GetData()
		for j := range xd {
			d := math.Abs(float64(xd[j]) - float64(yd[j]))
			if math.IsNaN(d) && !(math.IsNaN(float64(xd[j])) && math.IsNaN(float64(yd[j]))) {
				return math.NaN(), nil
			}
			worst = max(worst, d)
		}
	}
	return worst, nil
}

// intTensor converts a probe output (the value flattened, one element
// appended) of an integer or bool tensor of dimensions dims into an
// initializer; other types give nil (they stay computed).
func intTensor(v ort.Value, dims []int64) *pb.TensorProto {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	if n > maxFoldElements {
		return nil
	}
	if l, ok := v.(interface{ GetShape() ort.Shape }); !ok || l.GetShape().FlattenedSize() != n+1 {
		return nil
	}
	var dt pb.TensorProto_DataType
	var raw []byte
	switch t := v.(type) {
	case *ort.Tensor[int64]:
		dt, raw = pb.TensorProto_INT64, leBytes(t.GetData()[:n], 8, func(b []byte, x int64) { putU64(b, uint64(x)) })
	case *ort.Tensor[int32]:
		dt, raw = pb.TensorProto_INT32, leBytes(t.GetData()[:n], 4, func(b []byte, x int32) { putU32(b, uint32(x)) })
	case *ort.Tensor[bool]:
		dt, raw = pb.TensorProto_BOOL, leBytes(t.GetData()[:n], 1, func(b []byte, x bool) {
			if x {
				b[0] = 1
			}
		})
	default:
		return nil
	}
	return &pb.TensorProto{Dims: slices.Clone(dims), DataType: int32(dt), RawData: raw}
}

func leBytes[T any](xs []T, width int, put func([]byte, T)) []byte {
	b := make([]byte, width*len(xs))
	for i, x := range xs {
		put(b[i*width:], x)
	}
	return b
}

func putU64(b []byte, v uint64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func putU32(b []byte, v uint32) {
	for i := 0; i < 4; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func destroyAll(vs []ort.Value) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}
