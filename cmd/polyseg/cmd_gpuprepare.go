package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/internal/onnxgraph"
	"github.com/polyseg/polyseg/models"
)

func init() {
	register(command{
		name:    "gpu-prepare",
		summary: "make the SAM models ONNX Runtime's CUDA plugin can run (no Slice)",
		usage:   "[--decoder] [--strategy split|gather] [--out DIR] [--force] [--threads N]",
		run:     runGPUPrepare,
	})
}

// runGPUPrepare writes sam-encoder-cuda (and with --decoder
// sam-decoder-cuda) beside the cache's SAM models: the same functions
// without the Slice operator ONNX Runtime 1.29's CUDA plugin crashes on.
// The decoder is opt-in: its variant keeps shapes that follow the prompt,
// which the plugin has not been seen to run (docs/gpu.md), and a crash
// inside ONNX Runtime cannot be caught.
func runGPUPrepare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gpu-prepare", stderr)
	decoder := fs.Bool("decoder", false, "also make the decoder's variant (then SAM's decoder runs on CUDA too)")
	strategy := fs.String("strategy", string(onnxgraph.SliceAsSplit), "what replaces a Slice: split (Split where it can, else Gather) or gather")
	out := fs.String("out", "", "folder for the variants (default: the cache's model folder)")
	threads := fs.Int("threads", 0, "intra-op threads of the CPU check (0: one per CPU)")
	lib := fs.String("ort-lib", "", "path of libonnxruntime (default: $POLYSEG_ORT_LIB, else the cache)")
	force := fs.Bool("force", false, "make the variants again even when intact ones are there")
	if err := fs.Parse(args); err != nil {
		return usageErr("%v", err)
	}
	if fs.NArg() != 0 {
		return usageErr("no arguments expected, got %q", fs.Args())
	}
	st := onnxgraph.SliceStrategy(*strategy)
	if st != onnxgraph.SliceAsSplit && st != onnxgraph.SliceAsGather {
		return usageErr("--strategy %q: want split or gather", *strategy)
	}
	rf := runtimeFlags{provider: string(onnxrt.ProviderCPU), threads: *threads, lib: *lib}
	if err := rf.check(); err != nil {
		return err
	}
	rt, err := rf.runtime()
	if err != nil {
		return err
	}
	names := []string{"sam-encoder"}
	if *decoder {
		names = append(names, "sam-decoder")
	}
	for _, name := range names {
		m, err := models.Find(name, rt.ModelDir())
		if err != nil {
			return fmt.Errorf("%w (run scripts/fetch-runtime.sh)", err)
		}
		if v, err := rt.FindCUDAVariant(m); err == nil && !*force && *out == "" && variantStrategy(v) == st {
			// Made from this very file and intact: the rewrite would give
			// the same bytes (it is deterministic).
			fmt.Fprintf(stdout, "kept %s: sha256 %s, made from %s\n", v.ModelPath(), v.SHA256, m.ModelPath())
			continue
		}
		fmt.Fprintf(stderr, "gpu-prepare: %s: rewriting and checking on the CPU (ONNX Runtime %s)\n", name, rt.Version())
		v, err := rt.PrepareCUDA(ctx, m, onnxrt.PrepareOptions{Strategy: st, OutDir: *out})
		if err != nil {
			return err
		}
		var p onnxrt.VariantProvenance
		if err := json.Unmarshal(v.Provenance, &p); err != nil {
			return fmt.Errorf("model %q: provenance: %w", v.Name, err)
		}
		diff := 0.0
		if p.Check != nil {
			diff = p.Check.MaxAbsDiff
		}
		fmt.Fprintf(stdout, "wrote %s: sha256 %s; %d Slice replaced, %d values folded, %d nodes pruned; max difference to %s on the CPU %.3g\n",
			v.ModelPath(), v.SHA256, p.Slices, p.Folded, p.Pruned, name, diff)
	}
	return nil
}

// variantStrategy returns the Slice strategy a variant was made with.
func variantStrategy(v *models.Manifest) onnxgraph.SliceStrategy {
	var p onnxrt.VariantProvenance
	if err := json.Unmarshal(v.Provenance, &p); err != nil {
		return ""
	}
	return onnxgraph.SliceStrategy(p.Strategy)
}
