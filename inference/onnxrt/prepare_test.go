package onnxrt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/internal/onnxgraph"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/models"
)

// linkModel puts model name's manifest and file into dir (the file as a
// link: the SAM encoder is 28 MB), so that variants can be written beside
// it without touching the cache.
func linkModel(t *testing.T, rt *onnxrt.Runtime, name, dir string) *models.Manifest {
	t.Helper()
	modeltest.SkipIfAbsent(t, filepath.Join(rt.ModelDir(), name+".onnx"), "model "+name)
	m, err := models.Find(name, rt.ModelDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(m.ModelPath(), filepath.Join(dir, m.File)); err != nil {
		t.Fatal(err)
	}
	m, err = models.Load(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// prepared holds the bundled SAM pair, linked into a folder of the test's
// own, and the CUDA variants made beside them.
type prepared struct {
	dir                  string
	enc, dec, encV, decV *models.Manifest
}

// TestCUDAVariants makes the CUDA variants of the bundled encoder and
// decoder once (half a minute on two cores) for the subtests.
func TestCUDAVariants(t *testing.T) {
	rt := modeltest.Runtime(t)
	p := prepared{dir: t.TempDir()}
	p.enc = linkModel(t, rt, "sam-encoder", p.dir)
	p.dec = linkModel(t, rt, "sam-decoder", p.dir)
	var err error
	if p.encV, err = rt.PrepareCUDA(context.Background(), p.enc, onnxrt.PrepareOptions{OutDir: p.dir}); err != nil {
		t.Fatal(err)
	}
	if p.decV, err = rt.PrepareCUDA(context.Background(), p.dec, onnxrt.PrepareOptions{OutDir: p.dir}); err != nil {
		t.Fatal(err)
	}
	t.Run("MatchOnRealSlices", func(t *testing.T) { testVariantsMatch(t, p) })
	t.Run("Deterministic", func(t *testing.T) { testPrepareDeterministic(t, p) })
	t.Run("PluginModelUsesVariant", func(t *testing.T) { testPluginModelUsesVariant(t, p) })
}

// The variants have no Slice, record where they come from, and compute
// what the originals compute on real slices of patient B: the encoder's
// embedding and the decoder's masks, IoU and low-resolution logits within
// 1e-5.
func testVariantsMatch(t *testing.T, p prepared) {
	enc, dec, encV, decV := p.enc, p.dec, p.encV, p.decV
	for _, v := range []*models.Manifest{encV, decV} {
		g, err := onnxgraph.Read(v.ModelPath())
		if err != nil {
			t.Fatal(err)
		}
		if n := onnxgraph.OpTypes(g)["Slice"]; n != 0 {
			t.Errorf("%s still has %d Slice nodes", v.Name, n)
		}
		var p onnxrt.VariantProvenance
		if err := json.Unmarshal(v.Provenance, &p); err != nil {
			t.Fatal(err)
		}
		if p.Slices == 0 || p.Check == nil || p.Check.MaxAbsDiff > 1e-5 {
			t.Errorf("%s provenance %+v", v.Name, p)
		}
	}
	if got := encV.Inputs[0].Shape[0]; got != 1 {
		t.Errorf("variant encoder batch dimension %d, want 1", got)
	}
	rt := modeltest.Runtime(t)
	// Full precision: rounding to half precision (what the cache keeps)
	// would turn differences of 1e-7 into a half-precision step.
	orig, err := sam.Load(rt, enc, dec, sam.Options{NoCache: true, FullPrecision: true})
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	variant, err := sam.Load(rt, encV, decV, sam.Options{NoCache: true, FullPrecision: true})
	if err != nil {
		t.Fatal(err)
	}
	defer variant.Close()

	v, l, _ := realdata.PatientB(t, "../../../shared/data/real/totalsegmentator")
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const liver = 5
	for _, k := range []int{4, 12} {
		img, err := sl.Image(v, k)
		if err != nil {
			t.Fatal(err)
		}
		w := orig.DefaultWindow()
		ea, err := orig.Embed(ctx, img, sl.Rows, sl.Cols, w)
		if err != nil {
			t.Fatal(err)
		}
		eb, err := variant.Embed(ctx, img, sl.Rows, sl.Cols, w)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(ea.Data, eb.Data); d > 1e-5 {
			t.Errorf("slice %d: embeddings differ by %g", k, d)
		}
		ref, err := sl.Mask(l, k, liver)
		if err != nil {
			t.Fatal(err)
		}
		b, ok := ref.Bounds()
		if !ok {
			t.Fatalf("slice %d has no liver", k)
		}
		// Both decoders get the same embedding, so only the decoder differs.
		for _, p := range []sam.Prompt{{Box: &b}, {Box: &b, Points: []sam.Point{{Row: float64(b.R0+b.R1) / 2, Col: float64(b.C0+b.C1) / 2, Positive: true}}}} {
			pa, err := orig.Decode(ctx, ea, p)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := variant.Decode(ctx, ea, p)
			if err != nil {
				t.Fatal(err)
			}
			// The full-size mask is the graph's upsampling of the
			// low-resolution logits: those, the IoU and the mask itself
			// with its stability score are compared.
			d := max(maxDiff(pa.LowRes, pb.LowRes), math.Abs(float64(pa.IoU-pb.IoU)), math.Abs(pa.Stability-pb.Stability))
			if d > 1e-5 {
				t.Errorf("slice %d, %d points: decoder outputs differ by %g", k, len(p.Points), d)
			}
			if section.Dice(pa.Mask, pb.Mask) < 0.999 {
				t.Errorf("slice %d, %d points: masks differ (Dice %.4f)", k, len(p.Points), section.Dice(pa.Mask, pb.Mask))
			}
		}
	}
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// Made twice from the same model, a variant has the same bytes, so its
// sha256 can be recorded and compared across machines.
func testPrepareDeterministic(t *testing.T, p prepared) {
	dec, decV := p.dec, p.decV
	rt := modeltest.Runtime(t)
	again, err := rt.PrepareCUDA(context.Background(), dec, onnxrt.PrepareOptions{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if again.SHA256 != decV.SHA256 {
		t.Errorf("second variant sha256 %s, first %s", again.SHA256, decV.SHA256)
	}
}

// On the CUDA plugin a model with Slice must never run as it is: its
// variant runs instead, and without one the model is refused for CUDA
// (and so runs on the CPU) with a reason naming Slice and the command that
// makes the variant. A variant made from another file is not taken.
func testPluginModelUsesVariant(t *testing.T, p prepared) {
	dir, enc, encV := p.dir, p.enc, p.encV
	rt := modeltest.Runtime(t)
	use, _, _, err := onnxrt.PluginModel(rt, enc, enc.ModelPath())
	if err != nil || use.Name != encV.Name || use.SHA256 != encV.SHA256 {
		t.Errorf("encoder: got %v, %v; want its variant", use, err)
	}

	lone := t.TempDir()
	m := linkModel(t, rt, "sam-encoder", lone)
	_, _, _, err = onnxrt.PluginModel(rt, m, m.ModelPath())
	if err == nil || !strings.Contains(err.Error(), "Slice") || !strings.Contains(err.Error(), "gpu-prepare") {
		t.Errorf("without a variant: %v; want a refusal naming Slice and gpu-prepare", err)
	}

	// The decoder's variant, renamed as the encoder's: made from another file.
	b, err := os.ReadFile(filepath.Join(dir, "sam-decoder-cuda.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	raw["name"], raw["kind"] = "sam-encoder-cuda", "sam-encoder"
	b, _ = json.Marshal(raw)
	os.WriteFile(filepath.Join(lone, "sam-encoder-cuda.json"), b, 0o644)
	os.Symlink(filepath.Join(dir, "sam-decoder-cuda.onnx"), filepath.Join(lone, "sam-decoder-cuda.onnx"))
	if _, err := rt.FindCUDAVariant(m); !errors.Is(err, onnxrt.ErrNoVariant) {
		t.Errorf("a variant of another model: %v, want onnxrt.ErrNoVariant", err)
	}
}

// The SAM encoder and decoder, read and written back by onnxgraph (proto3
// messages, which drop every scalar holding its default value, e.g. an
// axis of 0), load in ONNX Runtime and compute exactly what the fetched
// files compute; written again, they give the same bytes.
func TestModelRoundTrip(t *testing.T) {
	rt := modeltest.Runtime(t)
	for _, tc := range []struct {
		name  string
		seeds []uint64
	}{{"sam-encoder", []uint64{2}}, {"sam-decoder", []uint64{1, 2}}} {
		t.Run(tc.name, func(t *testing.T) {
			modeltest.SkipIfAbsent(t, filepath.Join(rt.ModelDir(), tc.name+".onnx"), "model "+tc.name)
			m, err := models.Find(tc.name, rt.ModelDir())
			if err != nil {
				t.Fatal(err)
			}
			g, err := onnxgraph.Read(m.ModelPath())
			if err != nil {
				t.Fatal(err)
			}
			data, err := onnxgraph.Encode(g)
			if err != nil {
				t.Fatal(err)
			}
			back, err := onnxgraph.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			again, err := onnxgraph.Encode(back)
			if err != nil || !bytes.Equal(again, data) {
				t.Errorf("written twice, the bytes differ (%v)", err)
			}
			for _, seed := range tc.seeds {
				inputs, err := onnxrt.SAMProbeInputs(m, seed)
				if err != nil {
					t.Fatal(err)
				}
				diff, err := onnxrt.CompareOnCPU(rt, context.Background(), m, data, inputs)
				onnxrt.DestroyAll(inputs)
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if diff != 0 {
					t.Errorf("seed %d: outputs differ by %g from the fetched model's", seed, diff)
				}
			}
		})
	}
}
