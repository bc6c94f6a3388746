package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/metrics"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

const liver = 5

// benchResult is what bench writes to bench.json (and, as tables, to
// bench.md).
type benchResult struct {
	ORT      string                 `json:"onnxruntime"`
	Provider string                 `json:"provider"`
	Library  string                 `json:"library"`
	Driver   string                 `json:"driver"`
	GPUs     []string               `json:"gpus"`
	CUDALibs map[string]string      `json:"cuda_libraries"`
	Threads  int                    `json:"cpu_threads"`
	Variants map[string]string      `json:"variants_sha256"`
	Smoke    map[string]string      `json:"smoke"`
	Placed   map[string][]string    `json:"placements"`
	Rows     []benchRow             `json:"rows"`
	Agree    map[string]agreement   `json:"agreement"`
	Extra    map[string]interface{} `json:"extra,omitempty"`
}

type benchRow struct {
	Work  string  `json:"work"`
	CPU   float64 `json:"cpu_ms"`
	CUDA  float64 `json:"cuda_ms"`
	First float64 `json:"cuda_first_ms"`
	N     int     `json:"n"`
}

// agreement compares CUDA's masks with the CPU's, slice by slice.
type agreement struct {
	Slices   int     `json:"slices"`
	MinDice  float64 `json:"min_dice"`
	MeanDice float64 `json:"mean_dice"`
	MaxDiff  float64 `json:"max_abs_diff,omitempty"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// linkSAM makes dir a model folder holding links to the cache's SAM pair.
func linkSAM(cache, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"sam-encoder.json", "sam-encoder.onnx", "sam-decoder.json", "sam-decoder.onnx"} {
		dst := filepath.Join(dir, f)
		os.Remove(dst)
		if err := os.Symlink(filepath.Join(cache, "models", f), dst); err != nil {
			return err
		}
	}
	return nil
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	data := fs.String("data", "", "folder with patientB_ct.nii.gz and patientB_seg.nii.gz")
	out := fs.String("out", "", "folder for bench.md, bench.json and the model folders")
	reps := fs.Int("reps", 3, "repetitions of each whole-volume timing")
	provider := fs.String("provider", "cuda", "provider to compare with the CPU (cpu: a dry run of this tool on a machine without a GPU)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		return fmt.Errorf("bench: want --data and --out")
	}
	cache := onnxrt.DefaultCacheDir()
	g := onnxrt.GPURuntimePaths(cache)
	res := benchResult{CUDALibs: map[string]string{}, Variants: map[string]string{}, Smoke: map[string]string{},
		Placed: map[string][]string{}, Agree: map[string]agreement{}, Threads: runtime.NumCPU()}
	res.Driver, res.GPUs, _ = onnxrt.HostGPU()
	for _, l := range onnxrt.CUDALibraries() {
		res.CUDALibs[l.Name] = l.Path
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, "bench: "+format+"\n", a...) }

	// One library serves both: the GPU core runs CPU sessions too, so the
	// comparison is the same ONNX Runtime on two providers.
	rtCUDA, err := onnxrt.NewRuntime(onnxrt.Options{Library: g.Core, Provider: onnxrt.Provider(*provider), CacheDir: cache})
	if err != nil {
		return err
	}
	rtCPU, err := onnxrt.NewRuntime(onnxrt.Options{Library: g.Core, Provider: onnxrt.ProviderCPU, CacheDir: cache})
	if err != nil {
		return err
	}
	res.ORT, res.Library, res.Provider = rtCUDA.Version(), rtCUDA.Library(), *provider
	say("ONNX Runtime %s from %s; driver %q; GPUs %q; CPU threads %d", res.ORT, res.Library, res.Driver, res.GPUs, res.Threads)
	if err := rtCUDA.CUDA(); err != nil && *provider == "cuda" {
		return fmt.Errorf("CUDA is not usable, nothing to measure: %w", err)
	}

	// The variants, made here from the fetched models: the encoder's alone
	// (the default set-up) and both (gpu-prepare --decoder).
	encDir, bothDir := filepath.Join(*out, "models-encoder"), filepath.Join(*out, "models-both")
	for _, d := range []string{encDir, bothDir} {
		if err := linkSAM(cache, d); err != nil {
			return err
		}
	}
	enc, err := models.Load(filepath.Join(encDir, "sam-encoder.json"))
	if err != nil {
		return err
	}
	dec, err := models.Load(filepath.Join(bothDir, "sam-decoder.json"))
	if err != nil {
		return err
	}
	t0 := time.Now()
	encV, err := rtCPU.PrepareCUDA(ctx, enc, onnxrt.PrepareOptions{OutDir: encDir})
	if err != nil {
		return err
	}
	decV, err := rtCPU.PrepareCUDA(ctx, dec, onnxrt.PrepareOptions{OutDir: bothDir})
	if err != nil {
		return err
	}
	for _, f := range []string{"sam-encoder-cuda.json", "sam-encoder-cuda.onnx"} {
		os.Remove(filepath.Join(bothDir, f))
		if err := os.Symlink(filepath.Join(encDir, f), filepath.Join(bothDir, f)); err != nil {
			return err
		}
	}
	res.Variants[encV.Name], res.Variants[decV.Name] = encV.SHA256, decV.SHA256
	say("variants made in %.1f s: %s %s, %s %s", time.Since(t0).Seconds(), encV.Name, encV.SHA256, decV.Name, decV.SHA256)

	// A crash inside ONNX Runtime cannot be caught: try each set-up in a
	// child process first.
	for name, dir := range map[string]string{"encoder on CUDA": encDir, "encoder and decoder on CUDA": bothDir} {
		cmd := exec.CommandContext(ctx, os.Args[0], "smoke", "--models", dir, "--provider", *provider)
		b, err := cmd.CombinedOutput()
		res.Smoke[name] = "ok: " + lastLine(string(b))
		if err != nil {
			res.Smoke[name] = fmt.Sprintf("FAILED (%v): %s", err, lastLine(string(b)))
		}
		say("smoke %s: %s", name, res.Smoke[name])
	}
	encOK := strings.HasPrefix(res.Smoke["encoder on CUDA"], "ok")
	bothOK := strings.HasPrefix(res.Smoke["encoder and decoder on CUDA"], "ok")

	v, err := volume.Open(ctx, filepath.Join(*data, "patientB_ct.nii.gz"), volume.OpenOptions{})
	if err != nil {
		return err
	}
	ref, _, err := volume.LoadLabels(filepath.Join(*data, "patientB_seg.nii.gz"), v.Grid)
	if err != nil {
		return err
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return err
	}

	// U-Net over the whole volume.
	um, err := models.Resolve("polycl-liver", filepath.Join(cache, "models"), models.SearchDirs(filepath.Join(cache, "models"))...)
	if err != nil {
		return err
	}
	uCPU, err := unet.Load(rtCPU, um)
	if err != nil {
		return err
	}
	defer uCPU.Close()
	uCUDA, err := unet.Load(rtCUDA, um)
	if err != nil {
		return err
	}
	defer uCUDA.Close()
	res.Placed["U-Net"] = []string{place(uCPU.Placement()), place(uCUDA.Placement())}
	segOpts := unet.SegmentOptions{Batch: 8, LargestComponent: true}
	timeSeg := func(u *unet.Model) (first float64, med float64, l *volume.Labels, err error) {
		var ts []float64
		for i := 0; i <= *reps; i++ {
			t := time.Now()
			if l, err = u.Segment(ctx, v, segOpts); err != nil {
				return 0, 0, nil, err
			}
			if i == 0 {
				first = ms(time.Since(t))
			} else {
				ts = append(ts, ms(time.Since(t)))
			}
		}
		return first, median(ts), l, nil
	}
	_, cpuMS, coarseCPU, err := timeSeg(uCPU)
	if err != nil {
		return err
	}
	firstMS, cudaMS, coarseCUDA, err := timeSeg(uCUDA)
	if err != nil {
		return err
	}
	res.Rows = append(res.Rows, benchRow{"U-Net, whole volume (20 slices)", cpuMS, cudaMS, firstMS, *reps})
	res.Agree["U-Net liver masks"] = compareSlices(sl, coarseCPU, coarseCUDA)
	say("U-Net: CPU %.0f ms, CUDA %.0f ms (first %.0f ms); %+v", cpuMS, cudaMS, firstMS, res.Agree["U-Net liver masks"])

	// SAM: the CPU pair, and CUDA set-ups that survived their smoke test.
	samCPU, err := sam.Load(rtCPU, enc, dec, sam.Options{NoCache: true, FullPrecision: true})
	if err != nil {
		return err
	}
	defer samCPU.Close()
	res.Placed["SAM on the CPU"] = places(samCPU.Placements())
	type setup struct {
		name string
		sam  *sam.Model
	}
	var setups []setup
	if encOK {
		s, err := sam.Load(rtCUDA, enc, dec, sam.Options{NoCache: true, FullPrecision: true})
		if err != nil {
			return err
		}
		defer s.Close()
		res.Placed["encoder on CUDA"] = places(s.Placements())
		setups = append(setups, setup{"encoder on CUDA", s})
	}
	if bothOK {
		decBoth, err := models.Load(filepath.Join(bothDir, "sam-decoder.json"))
		if err != nil {
			return err
		}
		encBoth, err := models.Load(filepath.Join(bothDir, "sam-encoder.json"))
		if err != nil {
			return err
		}
		s, err := sam.Load(rtCUDA, encBoth, decBoth, sam.Options{NoCache: true, FullPrecision: true})
		if err != nil {
			return err
		}
		defer s.Close()
		res.Placed["encoder and decoder on CUDA"] = places(s.Placements())
		setups = append(setups, setup{"encoder and decoder on CUDA", s})
	}
	for k, p := range res.Placed {
		say("placements, %s: %s", k, strings.Join(p, "; "))
	}

	w := samCPU.DefaultWindow()
	var encCPU, encCUDA, encFirst []float64
	var decCPU []float64
	decCUDA := map[string][]float64{}
	embDiff := 0.0
	var decAgree []float64
	for k := 0; k < sl.Slices; k++ {
		img, err := sl.Image(v, k)
		if err != nil {
			return err
		}
		t := time.Now()
		e, err := samCPU.Embed(ctx, img, sl.Rows, sl.Cols, w)
		if err != nil {
			return err
		}
		encCPU = append(encCPU, ms(time.Since(t)))
		for i, s := range setups {
			t := time.Now()
			ec, err := s.sam.Embed(ctx, img, sl.Rows, sl.Cols, w)
			if err != nil {
				return err
			}
			if i == 0 {
				d := ms(time.Since(t))
				if k == 0 {
					encFirst = append(encFirst, d)
				} else {
					encCUDA = append(encCUDA, d)
				}
				embDiff = max(embDiff, maxDiff(e.Data, ec.Data))
			}
		}
		m, err := sl.Mask(ref, k, liver)
		if err != nil {
			return err
		}
		b, ok := m.Bounds()
		if !ok {
			continue
		}
		p := sam.Prompt{Box: &b}
		t = time.Now()
		pc, err := samCPU.Decode(ctx, e, p)
		if err != nil {
			return err
		}
		decCPU = append(decCPU, ms(time.Since(t)))
		for _, s := range setups {
			t := time.Now()
			pg, err := s.sam.Decode(ctx, e, p)
			if err != nil {
				return err
			}
			decCUDA[s.name] = append(decCUDA[s.name], ms(time.Since(t)))
			if s.name == "encoder and decoder on CUDA" {
				decAgree = append(decAgree, metrics.Dice(pc.Mask.Data, pg.Mask.Data))
			}
		}
	}
	if len(setups) > 0 {
		res.Rows = append(res.Rows, benchRow{"SAM encoder, one slice", median(encCPU[1:]), median(encCUDA), first(encFirst), len(encCUDA)})
		res.Agree["SAM embeddings"] = agreement{Slices: sl.Slices, MaxDiff: embDiff}
	}
	cudaDec := decCUDA["encoder and decoder on CUDA"]
	res.Rows = append(res.Rows, benchRow{"SAM decoder, one box prompt", median(decCPU), median(cudaDec), first(cudaDec), len(decCPU)})
	if len(decAgree) > 0 {
		res.Agree["SAM decoder masks (same embedding)"] = agreement{Slices: len(decAgree), MinDice: slices.Min(decAgree), MeanDice: mean(decAgree)}
	}

	// SAM refinement of patient B's liver, from the U-Net's coarse mask (as
	// polyseg refine and the app do), without the embedding cache.
	refine := func(s *sam.Model) (*volume.Labels, float64, error) {
		t := time.Now()
		l, _, err := refine.Volume(ctx, s, v, coarseCPU, refine.Options{Labels: []uint16{liver}})
		return l, ms(time.Since(t)), err
	}
	refCPU, tCPU, err := refine(samCPU)
	if err != nil {
		return err
	}
	for _, s := range setups {
		l, tg, err := refine(s.sam)
		if err != nil {
			return err
		}
		res.Rows = append(res.Rows, benchRow{"SAM refinement of patient B's liver, " + s.name, tCPU, tg, 0, 1})
		res.Agree["refined liver, "+s.name] = compareSlices(sl, refCPU, l)
	}
	res.Extra = map[string]interface{}{"refined_liver_dice_vs_reference_cpu": dice3D(refCPU, ref)}

	for _, r := range res.Rows {
		say("%s: CPU %.1f ms, CUDA %.1f ms (x%.1f)", r.Work, r.CPU, r.CUDA, r.CPU/max(r.CUDA, 1e-9))
	}
	for k, a := range res.Agree {
		say("agreement, %s: %+v", k, a)
	}
	return writeBench(*out, res)
}

func first(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[0]
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		x := float64(a[i]) - float64(b[i])
		if x < 0 {
			x = -x
		}
		d = max(d, x)
	}
	return d
}

func place(p onnxrt.Placement) string {
	s := p.Model + " on " + string(p.Provider)
	if p.Note != "" {
		s += " (" + p.Note + ")"
	}
	return s
}

func places(ps []onnxrt.Placement) []string {
	var out []string
	for _, p := range ps {
		out = append(out, place(p))
	}
	return out
}

// compareSlices gives the per-slice Dice of the liver in a and b over the
// slices where either has liver.
func compareSlices(sl *section.Slicer, a, b *volume.Labels) agreement {
	var ds []float64
	for k := 0; k < sl.Slices; k++ {
		ma, err1 := sl.Mask(a, k, liver)
		mb, err2 := sl.Mask(b, k, liver)
		if err1 != nil || err2 != nil || (ma.Area() == 0 && mb.Area() == 0) {
			continue
		}
		ds = append(ds, metrics.Dice(ma.Data, mb.Data))
	}
	if len(ds) == 0 {
		return agreement{}
	}
	return agreement{Slices: len(ds), MinDice: slices.Min(ds), MeanDice: mean(ds)}
}

func dice3D(a, b *volume.Labels) float64 {
	pa, pb := make([]bool, len(a.Data)), make([]bool, len(b.Data))
	for i := range a.Data {
		pa[i], pb[i] = a.Data[i] == liver, b.Data[i] == liver
	}
	return metrics.Dice(pa, pb)
}

func writeBench(dir string, res benchResult) error {
	js, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "bench.json"), 0o644, func(w io.Writer) error { _, err := w.Write(js); return err }); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, "bench.json"), err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ONNX Runtime %s (%s), provider compared with the CPU: %s, driver: %s, GPUs: %s, CPU: %d threads\n\n", res.ORT, res.Library, res.Provider, res.Driver, strings.Join(res.GPUs, ", "), res.Threads)
	fmt.Fprintf(&b, "| work | CPU (ms, median) | CUDA (ms, median) | CUDA first call (ms) | CPU / CUDA | runs |\n|---|---|---|---|---|---|\n")
	for _, r := range res.Rows {
		if r.CUDA == 0 {
			fmt.Fprintf(&b, "| %s | %.1f | not run | | | %d |\n", r.Work, r.CPU, r.N)
			continue
		}
		first := ""
		if r.First > 0 {
			first = fmt.Sprintf("%.1f", r.First)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %s | %.1f | %d |\n", r.Work, r.CPU, r.CUDA, first, r.CPU/r.CUDA, r.N)
	}
	fmt.Fprintf(&b, "\n| CUDA against the CPU | slices | min Dice | mean Dice | max abs diff |\n|---|---|---|---|---|\n")
	keys := make([]string, 0, len(res.Agree))
	for k := range res.Agree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := res.Agree[k]
		if strings.Contains(k, "embeddings") {
			fmt.Fprintf(&b, "| %s | %d | | | %.3g |\n", k, a.Slices, a.MaxDiff)
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %.4f | %.4f | |\n", k, a.Slices, a.MinDice, a.MeanDice)
	}
	for _, r := range res.Rows {
		if r.Work == "SAM encoder, one slice" && r.CUDA > 0 {
			verdict := "met"
			if r.CUDA > 20 {
				verdict = "missed"
			}
			fmt.Fprintf(&b, "\nTarget SAM encoder <= 20 ms per slice on CUDA: %s (%.1f ms, median of %d slices).\n", verdict, r.CUDA, r.N)
		}
	}
	fmt.Fprintf(&b, "\nWhere each model ran:\n\n")
	pk := make([]string, 0, len(res.Placed))
	for k := range res.Placed {
		pk = append(pk, k)
	}
	sort.Strings(pk)
	for _, k := range pk {
		fmt.Fprintf(&b, "- %s: %s\n", k, strings.Join(res.Placed[k], "; "))
	}
	fmt.Fprintf(&b, "\nSmoke tests (each set-up first ran in a child process): ")
	for _, k := range []string{"encoder on CUDA", "encoder and decoder on CUDA"} {
		fmt.Fprintf(&b, "%s: %s. ", k, res.Smoke[k])
	}
	fmt.Fprintf(&b, "\n\nVariants made on that machine: %v\n", res.Variants)
	md := b.String()
	path := filepath.Join(dir, "bench.md")
	if err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, md); return err }); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// runSmoke loads SAM from a model folder on CUDA and runs the encoder and
// the decoder once on synthetic input: if that crashes, only this process
// goes.
func runSmoke(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	dir := fs.String("models", "", "model folder with sam-encoder.json and sam-decoder.json (and their CUDA variants)")
	provider := fs.String("provider", "cuda", "provider")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cache := onnxrt.DefaultCacheDir()
	rt, err := onnxrt.NewRuntime(onnxrt.Options{Library: onnxrt.GPURuntimePaths(cache).Core, Provider: onnxrt.Provider(*provider), CacheDir: cache})
	if err != nil {
		return err
	}
	enc, err := models.Load(filepath.Join(*dir, "sam-encoder.json"))
	if err != nil {
		return err
	}
	dec, err := models.Load(filepath.Join(*dir, "sam-decoder.json"))
	if err != nil {
		return err
	}
	s, err := sam.Load(rt, enc, dec, sam.Options{NoCache: true, FullPrecision: true})
	if err != nil {
		return err
	}
	defer s.Close()
	img := make([]float32, 256*256)
	for i := range img {
		img[i] = float32((i%256)*4 - 400)
	}
	e, err := s.Embed(ctx, img, 256, 256, s.DefaultWindow())
	if err != nil {
		return err
	}
	if _, err := s.Decode(ctx, e, sam.Prompt{Box: &section.Box{R0: 60, C0: 60, R1: 180, C1: 200}}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, strings.Join(places(s.Placements()), "; "))
	return nil
}
