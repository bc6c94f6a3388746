package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/models"
)

func init() {
	register(command{
		name:    "quantize",
		summary: "make the int8 variant of the SAM encoder (dynamic quantization of its MatMul weights)",
		usage:   "[--out DIR] [--force] [--threads N]",
		run:     runQuantize,
	})
}

// runQuantize writes sam-encoder-int8 beside the cache's SAM encoder: its
// MatMul weights as int8, the activations quantized as the model runs.
// It is not the default encoder (it was measured 1.3x faster on two
// cores, docs/benchmarks.md); settings.json's "sam_encoder": "int8" picks
// it.
func runQuantize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quantize", stderr)
	out := fs.String("out", "", "folder for the variant (default: the cache's model folder)")
	threads := fs.Int("threads", 0, "intra-op threads of the check (0: one per CPU)")
	lib := fs.String("ort-lib", "", "path of libonnxruntime (default: $POLYSEG_ORT_LIB, else the cache)")
	force := fs.Bool("force", false, "make the variant again even when an intact one is there")
	if err := fs.Parse(args); err != nil {
		return usageErr("%v", err)
	}
	if fs.NArg() != 0 {
		return usageErr("no arguments expected, got %q", fs.Args())
	}
	rf := runtimeFlags{provider: string(onnxrt.ProviderCPU), threads: *threads, lib: *lib}
	if err := rf.check(); err != nil {
		return err
	}
	rt, err := rf.runtime()
	if err != nil {
		return err
	}
	m, err := models.Find("sam-encoder", rt.ModelDir())
	if err != nil {
		return fmt.Errorf("%w (run scripts/fetch-runtime.sh)", err)
	}
	dir := *out
	if dir == "" {
		dir = rt.ModelDir()
	}
	if v, err := sam.FindInt8(m, dir); err == nil && !*force {
		// Made from this very file and intact: the rewrite would give the
		// same bytes (it is deterministic).
		fmt.Fprintf(stdout, "kept %s: sha256 %s, made from %s\n", v.ModelPath(), v.SHA256, m.ModelPath())
		return nil
	}
	fmt.Fprintf(stderr, "quantize: %s: rewriting and checking on the CPU\n", m.Name)
	v, err := sam.Quantize(ctx, rt, m, dir)
	if err != nil {
		return err
	}
	var p sam.QuantizeProvenance
	if err := json.Unmarshal(v.Provenance, &p); err != nil {
		return fmt.Errorf("model %q: provenance: %w", v.Name, err)
	}
	fmt.Fprintf(stdout, "wrote %s: sha256 %s; %d MatMul quantized (%d weights); relative error of the embedding on the check image %.3g\n",
		v.ModelPath(), v.SHA256, p.MatMuls, p.Weights, p.RelError)
	return nil
}
