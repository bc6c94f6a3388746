package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "segment",
		summary: "segment organs with a U-Net model and write a label volume",
		usage:   "[--model NAME|MANIFEST.json] [--largest=false] [--batch N] [--provider auto|cpu|cuda] [--threads N] [--series UID|N] [--allow-gaps] IN OUT.nii[.gz]",
		run:     runSegment,
	})
}

// runtimeFlags are the ONNX Runtime settings every inference command takes.
type runtimeFlags struct {
	provider string
	threads  int
	lib      string
}

func (r *runtimeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.provider, "provider", "auto", "execution provider: auto (CUDA when the library has it, else CPU), cpu or cuda")
	fs.IntVar(&r.threads, "threads", 0, "intra-op threads (0: one per CPU)")
	fs.StringVar(&r.lib, "ort-lib", "", "path of libonnxruntime (default: $POLYSEG_ORT_LIB, else the cache from scripts/fetch-runtime.sh)")
}

// check refuses thread counts ONNX Runtime would take literally: a
// negative one, or more threads than any machine uses (each costs memory).
func (r *runtimeFlags) check() error {
	if r.threads < 0 || r.threads > onnxrt.MaxThreads {
		return usageErr("--threads %d: want 0 (one per CPU) to %d", r.threads, onnxrt.MaxThreads)
	}
	return nil
}

func (r *runtimeFlags) runtime() (*onnxrt.Runtime, error) {
	rt, err := onnxrt.NewRuntime(onnxrt.Options{Library: r.lib, Provider: onnxrt.Provider(r.provider), Threads: r.threads})
	if err != nil {
		return nil, err
	}
	return rt, nil
}

// printPlacements says on stderr where each model runs (every command's
// output names the provider that ran each model), with ONNX Runtime's
// version and, when a model runs elsewhere than asked, why.
func printPlacements(w io.Writer, rt *onnxrt.Runtime, ps ...onnxrt.Placement) {
	for _, p := range ps {
		fmt.Fprintf(w, "model %s on %s (ONNX Runtime %s, %d threads)\n", p.Model, p.Provider, rt.Version(), rt.Threads())
		if p.Note != "" {
			fmt.Fprintf(w, "note: %s: %s\n", p.Model, p.Note)
		}
	}
}

// checkOutput refuses an output that would replace one of the inputs, and
// an output whose folder is missing or cannot be written, before any long
// work: a refusal after minutes of inference would waste them.
func checkOutput(out string, inputs ...string) error {
	if st, err := os.Stat(out); err == nil {
		if st.IsDir() {
			return usageErr("output %s is a folder", out)
		}
		for _, in := range inputs {
			if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
				return usageErr("output %s is the input %s: writing it would replace the input", out, in)
			}
		}
	}
	dir := filepath.Dir(out)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("output %s: folder %s: %w", out, dir, pathCause(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("output %s: %s is not a folder", out, dir)
	}
	// Creating a file is the one portable test that the folder takes the
	// output's temporary file.
	f, err := os.CreateTemp(dir, ".polyseg-check-*")
	if err != nil {
		return fmt.Errorf("output %s: cannot write in folder %s: %w", out, dir, pathCause(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// pathCause drops the operation and path from a *fs.PathError, for
// messages that name the path themselves.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseScanToLabels parses the arguments of a command that reads a scan
// and writes a label volume (segment, refine): flags anywhere, then exactly
// the input and the output, which must be a NIfTI name.
func parseScanToLabels(fs *flag.FlagSet, args []string) (in, out string, err error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return "", "", usageErr("%v", err)
	}
	if len(pos) != 2 {
		return "", "", usageErr("want an input scan and an output label file, got %d arguments", len(pos))
	}
	in, out = pos[0], pos[1]
	if l := strings.ToLower(out); !strings.HasSuffix(l, ".nii") && !strings.HasSuffix(l, ".nii.gz") {
		return "", "", usageErr("output %s: name it .nii or .nii.gz", out)
	}
	return in, out, nil
}

func runSegment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("segment", stderr)
	model := fs.String("model", app.DefaultUNet, "model `name` (NAME.json in $POLYSEG_MODELS, ./models or the cache) or manifest path")
	largest := fs.Bool("largest", true, "keep only the largest 3D connected component of each label")
	batch := fs.Int("batch", 8, "slices per model run")
	var series seriesFlag
	series.register(fs, "DICOM series to read: its `UID or number` (see polyseg info)")
	var rf runtimeFlags
	rf.register(fs)
	in, out, err := parseScanToLabels(fs, args)
	if err != nil {
		return err
	}
	if *batch < 1 {
		return usageErr("--batch %d: want 1 or more slices per run", *batch)
	}
	if err := rf.check(); err != nil {
		return err
	}
	if err := checkOutput(out, in); err != nil {
		return err
	}
	rt, err := rf.runtime()
	if err != nil {
		return err
	}
	m, err := models.Resolve(*model, rt.ModelDir(), models.SearchDirs(rt.ModelDir())...)
	if err != nil {
		return err
	}
	u, err := unet.Load(rt, m)
	if err != nil {
		return err
	}
	defer u.Close()
	v, err := series.openScan(ctx, in)
	if err != nil {
		return err
	}
	printPlacements(stderr, rt, u.Placement())
	progress := newProgressLine(stderr, "segment")
	l, err := u.Segment(ctx, v, unet.SegmentOptions{Batch: *batch, LargestComponent: *largest, Progress: progress})
	progress.end()
	if err != nil {
		return err
	}
	if err := volume.WriteLabels(out, l, v); err != nil {
		return err
	}
	sp := v.Spacing()
	voxelML := sp[0] * sp[1] * sp[2] / 1000
	counts := map[uint16]int{}
	for _, x := range l.Data {
		counts[x]++
	}
	fmt.Fprintf(stdout, "wrote %s\n", out)
	for _, lab := range m.Labels {
		fmt.Fprintf(stdout, "%s (%d): %.1f mL\n", lab.Name, lab.Value, float64(counts[lab.Value])*voxelML)
	}
	return nil
}
