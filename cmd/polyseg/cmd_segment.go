package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/polyseg/polyseg/inference"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "segment",
		summary: "segment organs with a U-Net model and write a label volume",
		usage:   "[--model NAME|MANIFEST.json] [--largest=false] [--batch N] [--provider auto|cpu|cuda] [--threads N] IN OUT.nii[.gz]",
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

func (r *runtimeFlags) runtime() (*inference.Runtime, error) {
	rt, err := inference.NewRuntime(inference.Options{Library: r.lib, Provider: inference.Provider(r.provider), Threads: r.threads})
	if err != nil {
		return nil, err
	}
	return rt, nil
}

// progressLine prints progress on one rewritten line of w.
func progressLine(w io.Writer, what string) inference.Progress {
	last := -1
	return inference.ProgressFunc(func(done, total int, msg string) {
		pct := 100
		if total > 0 {
			pct = 100 * done / total
		}
		if pct != last {
			last = pct
			fmt.Fprintf(w, "\r%s: %3d%% %-40s", what, pct, msg)
			if done >= total {
				fmt.Fprintln(w)
			}
		}
	})
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
	model := fs.String("model", "polycl-liver", "model `name` (NAME.json in $POLYSEG_MODELS, ./models or the cache) or manifest path")
	largest := fs.Bool("largest", true, "keep only the largest 3D connected component of each label")
	batch := fs.Int("batch", 8, "slices per model run")
	var series seriesFlag
	fs.Var(&series, "series", "DICOM series to read: its `UID or number` (see polyseg info)")
	var rf runtimeFlags
	rf.register(fs)
	in, out, err := parseScanToLabels(fs, args)
	if err != nil {
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
	u, err := rt.LoadUNet(m)
	if err != nil {
		return err
	}
	defer u.Close()
	v, err := volume.Open(ctx, in, volume.OpenOptions{DICOM: series.opt})
	if err != nil {
		return err
	}
	prov, note := rt.Provider()
	fmt.Fprintf(stderr, "model %s on %s (%d threads)\n", m.Name, prov, rt.Threads())
	if note != "" {
		fmt.Fprintf(stderr, "note: %s\n", note)
	}
	l, err := u.Segment(ctx, v, inference.SegmentOptions{Batch: *batch, LargestComponent: *largest, Progress: progressLine(stderr, "segment")})
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
