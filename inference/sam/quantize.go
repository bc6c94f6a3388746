package sam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/internal/onnxgraph"
	"github.com/polyseg/polyseg/models"
)

// Int8Suffix ends the name of an encoder's int8 variant: sam-encoder's is
// sam-encoder-int8.
const Int8Suffix = "-int8"

// QuantizeProvenance is the provenance block of an int8 variant's
// manifest.
type QuantizeProvenance struct {
	DerivedFrom  string `json:"derived_from"`
	SourceSHA256 string `json:"source_sha256"`
	MadeBy       string `json:"made_by"`
	// Method names the rewrite (onnxgraph.QuantizeMatMuls).
	Method  string `json:"method"`
	MatMuls int    `json:"matmuls_quantized"`
	Weights int64  `json:"weights_quantized"`
	// RelError is the variant's embedding error on the check image:
	// ||int8 - float32|| / ||float32||.
	RelError float64 `json:"check_relative_error"`
}

// maxQuantRelError bounds the int8 encoder's relative error on the check
// image: a rewrite that went wrong (a transposed weight, a lost scale)
// gives errors of order 1, dynamic int8 a few hundredths.
const maxQuantRelError = 0.15

// Quantize makes the int8 variant of a SAM encoder: every MatMul with a
// constant weight matrix rewritten into ONNX Runtime's dynamic int8 form
// (onnxgraph.QuantizeMatMuls), pure Go, so the same encoder always gives
// the same bytes whatever runtime is installed. The variant is run beside
// the original on a pseudo-random image before it is written; an error
// above maxQuantRelError refuses it. NAME-int8.onnx and NAME-int8.json
// (sha256, signature, provenance naming the source's sha256) go into
// outDir, written atomically.
func Quantize(ctx context.Context, r *onnxrt.Runtime, m *models.Manifest, outDir string) (*models.Manifest, error) {
	if m.Kind != models.KindSAMEncoder {
		return nil, fmt.Errorf("model %q is a %s: only SAM encoders are quantized", m.Name, m.Kind)
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	g, err := onnxgraph.Read(m.ModelPath())
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", m.Name, err)
	}
	st, err := onnxgraph.QuantizeMatMuls(g)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", m.Name, err)
	}
	if st.MatMuls == 0 {
		return nil, fmt.Errorf("model %q: no MatMul with constant weights to quantize", m.Name)
	}
	data, err := onnxgraph.Encode(g)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", m.Name, err)
	}
	rel, err := compareEncoders(ctx, r, m, data)
	if err != nil {
		return nil, fmt.Errorf("model %q: check the int8 variant: %w", m.Name, err)
	}
	if !(rel <= maxQuantRelError) {
		return nil, fmt.Errorf("model %q: the int8 variant's relative error is %.3g (more than %g); not written", m.Name, rel, maxQuantRelError)
	}
	name := m.Name + Int8Suffix
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("model folder %s: %w", outDir, err)
	}
	onnxPath := filepath.Join(outDir, name+".onnx")
	if err := atomicfile.WriteFile(onnxPath, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return nil, fmt.Errorf("write %s: %w", onnxPath, err)
	}
	sum := sha256.Sum256(data)
	v := *m
	v.Name, v.File, v.SHA256 = name, name+".onnx", hex.EncodeToString(sum[:])
	v.Licence = m.Licence + "; weights quantized to int8 by polyseg quantize"
	prov := QuantizeProvenance{DerivedFrom: m.Name, SourceSHA256: m.SHA256, MadeBy: "polyseg quantize",
		Method:  "dynamic int8 MatMul (per-column symmetric weights, DynamicQuantizeLinear activations)",
		MatMuls: st.MatMuls, Weights: st.Weights, RelError: math.Round(rel*1e4) / 1e4}
	if v.Provenance, err = json.Marshal(prov); err != nil {
		return nil, err
	}
	if err := models.Write(&v, filepath.Join(outDir, name+".json")); err != nil {
		return nil, err
	}
	return models.Load(v.Path)
}

// ErrNoInt8 marks an encoder without a usable int8 variant.
var ErrNoInt8 = errors.New("no int8 encoder")

// FindInt8 finds the int8 variant of encoder m (NAME-int8.json in dir),
// checks that it was made from exactly m's file and that its own file
// matches its sha256.
func FindInt8(m *models.Manifest, dir string) (*models.Manifest, error) {
	p := filepath.Join(dir, m.Name+Int8Suffix+".json")
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("%w: no %s (polyseg quantize makes it)", ErrNoInt8, p)
	}
	v, err := models.Load(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoInt8, err)
	}
	var prov QuantizeProvenance
	if err := json.Unmarshal(v.Provenance, &prov); err != nil || prov.SourceSHA256 != m.SHA256 || v.Kind != m.Kind {
		return nil, fmt.Errorf("%w: %s was not made from %s (sha256 %.12s…); run polyseg quantize again", ErrNoInt8, p, m.Path, m.SHA256)
	}
	if err := v.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoInt8, err)
	}
	return v, nil
}

// compareEncoders runs the original encoder of m and the serialised
// variant on one pseudo-random image (smooth, in SAM's normalised range)
// and returns the variant's relative L2 error.
func compareEncoders(ctx context.Context, r *onnxrt.Runtime, m *models.Manifest, variant []byte) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	size := int64(m.Preprocess.Size[0])
	if size <= 0 {
		size = 1024
	}
	rng := rand.New(rand.NewPCG(3, 0x5a4d))
	img := make([]float32, 3*size*size)
	// Blocks of 16 pixels: a noise image would be nothing an encoder sees.
	for c := int64(0); c < 3; c++ {
		for y := int64(0); y < size; y += 16 {
			for x := int64(0); x < size; x += 16 {
				v := float32(rng.NormFloat64())
				for dy := int64(0); dy < 16 && y+dy < size; dy++ {
					row := img[c*size*size+(y+dy)*size:]
					for dx := int64(0); dx < 16 && x+dx < size; dx++ {
						row[x+dx] = v
					}
				}
			}
		}
	}
	in, err := ort.NewTensor(ort.NewShape(1, 3, size, size), img)
	if err != nil {
		return 0, err
	}
	defer in.Destroy()
	orig, err := os.ReadFile(m.ModelPath())
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", m.ModelPath(), err)
	}
	run := func(data []byte) ([]float32, error) {
		out := make([]ort.Value, 1)
		if err := r.RunData(ctx, data, []string{m.Inputs[0].Name}, []string{m.Outputs[0].Name}, []ort.Value{in}, out); err != nil {
			return nil, err
		}
		defer out[0].Destroy()
		t, ok := out[0].(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("output is not float32")
		}
		return append([]float32(nil), t.GetData()...), nil
	}
	a, err := run(orig)
	if err != nil {
		return 0, err
	}
	b, err := run(variant)
	if err != nil {
		return 0, err
	}
	if len(a) != len(b) {
		return 0, fmt.Errorf("outputs of %d and %d values", len(a), len(b))
	}
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(a[i]) * float64(a[i])
	}
	if den == 0 {
		return 0, fmt.Errorf("the original encoder's output is zero")
	}
	return math.Sqrt(num / den), nil
}
