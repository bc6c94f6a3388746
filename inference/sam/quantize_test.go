package sam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/onnxgraph"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// int8SHA256 is the sha256 of sam-encoder-int8.onnx made from the fetched
// encoder (sha256 18348d14…): the rewrite is pure Go, so it does not
// depend on the ONNX Runtime installed.
const int8SHA256 = "08c4b2ebdb633ee4b8fa90d1c668feb9e01e5bd8bd92a94b11b375920fdc6443"

var (
	q8Once sync.Once
	q8Dir  string
	q8     *models.Manifest
	q8Err  error
)

// TestMain removes the int8 encoder the tests made.
func TestMain(m *testing.M) {
	code := m.Run()
	if q8Dir != "" {
		os.RemoveAll(q8Dir)
	}
	os.Exit(code)
}

// quantized returns the int8 variant of the fetched encoder, made once
// per test binary into a folder of its own.
func quantized(t *testing.T) *models.Manifest {
	t.Helper()
	rt, s := testRuntime(t), testSAM(t)
	q8Once.Do(func() {
		if q8Dir, q8Err = os.MkdirTemp("", "polyseg-int8-"); q8Err == nil {
			q8, q8Err = Quantize(context.Background(), rt, s.Encoder(), q8Dir)
		}
	})
	if q8Err != nil {
		t.Fatal(q8Err)
	}
	return q8
}

// TestQuantize makes the int8 encoder from the fetched one and checks its
// manifest (sha256, provenance, found by FindInt8 and by LoadDefault with
// Encoder int8) and that the rewrite gives the same bytes again.
func TestQuantize(t *testing.T) {
	s := testSAM(t)
	q := quantized(t)
	if q.SHA256 != int8SHA256 {
		t.Errorf("int8 encoder sha256 %s, want %s", q.SHA256, int8SHA256)
	}
	var p QuantizeProvenance
	if err := json.Unmarshal(q.Provenance, &p); err != nil || p.SourceSHA256 != s.Encoder().SHA256 || p.MatMuls != 40 {
		t.Errorf("provenance %+v, %v", p, err)
	}
	if v, err := FindInt8(s.Encoder(), q8Dir); err != nil || v.SHA256 != q.SHA256 {
		t.Errorf("FindInt8: %v, %v", v, err)
	}
	if _, err := FindInt8(s.Encoder(), t.TempDir()); err == nil {
		t.Error("FindInt8 found a variant in an empty folder")
	}
	g, err := onnxgraph.Read(s.Encoder().ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnxgraph.QuantizeMatMuls(g); err != nil {
		t.Fatal(err)
	}
	b, _ := onnxgraph.Encode(g)
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != q.SHA256 {
		t.Error("the rewrite made again gives other bytes")
	}
}

// TestInt8Masks compares the masks SAM decodes from the int8 encoder's
// embeddings with the float32 encoder's, for a box around every organ on
// the liver's largest slice of patients A and B: the figures behind the
// decision to keep float32 (docs/benchmarks.md), with a floor under them.
func TestInt8Masks(t *testing.T) {
	rt := testRuntime(t)
	f32 := testSAM(t)
	q := quantized(t)
	i8, err := Load(rt, q, f32.Decoder(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer i8.Close()
	worst, n, sum := 1.0, 0, 0.0
	va, la := realdata.PatientA(t, realData)
	vb, lb, _ := realdata.PatientB(t, realData)
	for _, d := range append(boxAgreement(t, f32, i8, va, la), boxAgreement(t, f32, i8, vb, lb)...) {
		worst, sum, n = min(worst, d), sum+d, n+1
	}
	t.Logf("int8 against float32 encoder: %d box masks, mean Dice %.4f, worst %.4f", n, sum/float64(n), worst)
	if worst < 0.9 {
		t.Errorf("worst Dice %.3f between the int8 and float32 encoders' masks", worst)
	}
}

// boxAgreement decodes a box around each of organs 1 (spleen), 2 and 3
// (kidneys) and 5 (liver, the fixtures' TotalSegmentator values) on the
// liver's largest axial slice with both models and returns the Dice of
// each pair of masks.
func boxAgreement(t *testing.T, a, b *Model, v *volume.Volume, l *volume.Labels) []float64 {
	t.Helper()
	ctx := context.Background()
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	best, area := 0, 0
	for k := 0; k < sl.Slices; k++ {
		m, _ := sl.Mask(l, k, 5)
		if m.Area() > area {
			best, area = k, m.Area()
		}
	}
	w := a.DefaultWindow()
	ea, err := a.SliceEmbedding(ctx, v, sl, best, w)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := b.SliceEmbedding(ctx, v, sl, best, w)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, organ := range []uint16{1, 2, 3, 5} {
		m, _ := sl.Mask(l, best, organ)
		if m.Area() < 20 {
			continue
		}
		box, _ := m.Bounds()
		pa, err := a.Decode(ctx, ea, Prompt{Box: &box})
		if err != nil {
			t.Fatal(err)
		}
		pb, err := b.Decode(ctx, eb, Prompt{Box: &box})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, section.Dice(pa.Mask, pb.Mask))
	}
	return out
}

// TestHalfPrecisionMasks compares the masks SAM decodes from a float32
// embedding with those from the same embedding in half precision (what
// the disk cache keeps), for a box around every organ on the liver's
// largest slice of patients A and B.
func TestHalfPrecisionMasks(t *testing.T) {
	rt := testRuntime(t)
	s := testSAM(t)
	full, err := Load(rt, s.Encoder(), s.Decoder(), Options{FullPrecision: true})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	worst, n, sum := 1.0, 0, 0.0
	va, la := realdata.PatientA(t, realData)
	vb, lb, _ := realdata.PatientB(t, realData)
	for _, d := range append(boxAgreement(t, full, s, va, la), boxAgreement(t, full, s, vb, lb)...) {
		worst, sum, n = min(worst, d), sum+d, n+1
	}
	t.Logf("half against full precision embeddings: %d box masks, mean Dice %.4f, worst %.4f", n, sum/float64(n), worst)
	if worst < 0.99 {
		t.Errorf("worst Dice %.4f between masks from half and full precision embeddings", worst)
	}
}
