package main

import (
	"context"
	"fmt"
	"io"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam2"
)

func init() {
	register(command{
		name:    "sam2-manifests",
		summary: "check a SAM 2 ONNX export's four files and write the manifests the sam2 engine loads (docs/sam2.md)",
		usage:   "[--ort-lib PATH] DIR",
		run:     runSAM2Manifests,
	})
}

// runSAM2Manifests records the sha256 and signature of each file of a SAM 2
// export in a manifest beside it, after checking that the files are that
// export's, then loads the folder as the engine will.
func runSAM2Manifests(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sam2-manifests", stderr)
	lib := fs.String("ort-lib", "", "path of libonnxruntime (default: $POLYSEG_ORT_LIB, else the cache from scripts/fetch-runtime.sh)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 1 {
		return usageErr("want one folder, got %d arguments", len(pos))
	}
	dir := pos[0]
	rt, err := onnxrt.NewRuntime(onnxrt.Options{Library: *lib, Provider: onnxrt.ProviderCPU, Threads: 1})
	if err != nil {
		return err
	}
	paths, err := sam2.WriteManifests(rt, dir)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := sam2.Load(rt, dir, sam2.Options{})
	if err != nil {
		return fmt.Errorf("manifests written, but the folder does not load: %w", err)
	}
	defer s.Close()
	fmt.Fprintf(stdout, "%s loads: propagate --engine sam2 --sam2 %s\n", dir, dir)
	return nil
}
