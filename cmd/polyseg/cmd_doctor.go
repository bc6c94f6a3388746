package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/internal/settings"
	"github.com/polyseg/polyseg/models"
)

func init() {
	register(command{
		name:    "doctor",
		summary: "report the ONNX Runtime, GPU, models, cache and display (for bug reports)",
		usage:   "[--provider auto|cpu|cuda] [--ort-lib PATH]",
		run:     runDoctor,
	})
}

// errDoctor marks a doctor run that found something the default commands
// need missing; the report already said what.
var errDoctor = errors.New("something the default commands need is missing (see above)")

// report prints the doctor's sections and counts the problems that stop
// the default commands (warnings do not count).
type report struct {
	w        io.Writer
	problems int
}

func (r *report) section(name string) { fmt.Fprintf(r.w, "\n%s\n", name) }
func (r *report) ok(format string, a ...any) {
	fmt.Fprintf(r.w, "  %s\n", fmt.Sprintf(format, a...))
}
func (r *report) warn(format string, a ...any) {
	fmt.Fprintf(r.w, "  warning: %s\n", fmt.Sprintf(format, a...))
}
func (r *report) problem(format string, a ...any) {
	r.problems++
	fmt.Fprintf(r.w, "  PROBLEM: %s\n", fmt.Sprintf(format, a...))
}

// runDoctor prints what polyseg finds on this machine, in the order a bug
// report needs it, and fails when the ONNX Runtime library, the default
// U-Net or SAM cannot be used. A missing GPU or display is reported, not
// counted: the headless commands need neither.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("doctor", stderr)
	var rf runtimeFlags
	rf.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageErr("%v", err)
	}
	if fs.NArg() != 0 {
		return usageErr("no arguments expected, got %q", fs.Args())
	}
	switch onnxrt.Provider(rf.provider) {
	case onnxrt.ProviderAuto, onnxrt.ProviderCPU, onnxrt.ProviderCUDA:
	default:
		return usageErr("--provider %q: want auto, cpu or cuda", rf.provider)
	}
	if err := rf.check(); err != nil {
		return err
	}
	r := &report{w: stdout}
	fmt.Fprintln(stdout, "polyseg doctor")

	cache := onnxrt.DefaultCacheDir()
	r.section("ONNX Runtime")
	rt, rtErr := rf.runtime()
	if rtErr != nil {
		r.problem("%s", oneLine(rtErr.Error()))
	} else {
		cache = rt.CacheDir()
		r.ok("library: %s", rt.Library())
		r.ok("version: %s", rt.Version())
		r.ok("provider asked: %s", rt.Requested())
		devices, builtin, err := rt.Devices()
		if err != nil {
			r.warn("%s", oneLine(err.Error()))
		}
		r.ok("providers built into the library: %s", strings.Join(builtin, ", "))
		for _, d := range devices {
			r.ok("device: %s on %s%s", d.Provider, d.Hardware, hardware(d))
		}
		if err := rt.CUDA(); err != nil {
			r.ok("CUDA: not used: %s", oneLine(err.Error()))
		} else {
			r.ok("CUDA: available")
		}
	}

	r.section("GPU")
	driver, gpus, gpuErr := onnxrt.HostGPU()
	if driver != "" {
		r.ok("driver: %s", driver)
	}
	for _, g := range gpus {
		r.ok("GPU: %s", g)
	}
	if gpuErr != nil {
		r.ok("%s", gpuErr)
	}
	g := onnxrt.GPURuntimePaths(cache)
	if _, err := os.Stat(g.CUDA); err == nil {
		r.ok("GPU runtime: %s (ONNX Runtime with the CUDA plugin)", g.Dir)
	} else {
		r.ok("GPU runtime: not fetched (scripts/fetch-runtime.sh --gpu)")
	}
	if gpuErr == nil || fileExists(g.CUDA) {
		for _, l := range onnxrt.CUDALibraries() {
			if l.Path != "" {
				r.ok("%s: %s", l.Name, l.Path)
			} else {
				r.warn("%s: not found by the dynamic linker (add its folder to LD_LIBRARY_PATH)", l.Name)
			}
		}
	}

	r.section("Models")
	modelDir := filepath.Join(cache, "models")
	r.doctorModel(app.DefaultUNet, modelDir, true, models.SearchDirs(modelDir)...)
	for _, name := range models.BuiltinNames() {
		if name != app.DefaultUNet {
			r.doctorModel(name, modelDir, false, models.SearchDirs(modelDir)...)
		}
	}
	for _, name := range []string{"sam-encoder", "sam-decoder"} {
		r.doctorModel(name, modelDir, true, modelDir)
		r.doctorModel(name+onnxrt.VariantSuffix, modelDir, false, modelDir)
	}
	r.doctorModel("sam-encoder"+sam.Int8Suffix, modelDir, false, modelDir)

	r.section("Cache")
	if size, err := dirSize(cache); err != nil {
		r.warn("%s: %s", cache, oneLine(err.Error()))
	} else {
		r.ok("%s: %.1f MB", cache, float64(size)/1e6)
	}
	r.doctorSAM(cache)

	r.section("Display")
	if w := os.Getenv("WAYLAND_DISPLAY"); w != "" {
		r.ok("WAYLAND_DISPLAY=%s (the app draws through X11: XWayland's DISPLAY is what counts)", w)
	}
	if err := displayError(); err != nil {
		r.warn("%s: polyseg view cannot open a window; the other commands work", oneLine(err.Error()))
	} else {
		r.ok("DISPLAY=%s: a window can open", os.Getenv("DISPLAY"))
	}

	fmt.Fprintln(stdout)
	if r.problems > 0 {
		fmt.Fprintf(stdout, "%d problem(s)\n", r.problems)
		return errDoctor
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// doctorModel reports one model: where its manifest is and whether its
// file matches the manifest's sha256. A required model that cannot be used
// is a problem; an optional one (a CUDA variant) is only reported.
func (r *report) doctorModel(name, into string, required bool, dirs ...string) {
	m, err := models.Find(name, dirs...)
	if err != nil && slices.Contains(models.BuiltinNames(), name) {
		// Not installed into the cache yet: the binary carries it.
		r.ok("%s: built into this binary (written to %s on first use)", name, into)
		return
	}
	switch {
	case err != nil && !required:
		how := "polyseg gpu-prepare"
		if strings.HasSuffix(name, sam.Int8Suffix) {
			how = "polyseg quantize"
		}
		r.ok("%s: absent (optional; %s makes it)", name, how)
		return
	case err != nil:
		r.problem("%s (run scripts/fetch-runtime.sh)", oneLine(err.Error()))
		return
	}
	if err := m.Verify(); err != nil {
		if required {
			r.problem("%s: %s", name, oneLine(err.Error()))
		} else {
			r.warn("%s: %s", name, oneLine(err.Error()))
		}
		return
	}
	r.ok("%s (%s): %s, sha256 %.12s… ok", name, m.Kind, m.ModelPath(), m.SHA256)
}

// hardware describes a device's hardware: its vendor and PCI ids, when
// ONNX Runtime knows them.
func hardware(d onnxrt.Device) string {
	var parts []string
	if d.Vendor != "" {
		parts = append(parts, d.Vendor)
	}
	if d.VendorID != 0 || d.DeviceID != 0 {
		parts = append(parts, fmt.Sprintf("PCI %04x:%04x", d.VendorID, d.DeviceID))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// dirSize adds up the sizes of the regular files under dir (following dir
// itself when it is a link, as the checkout's .cache may be).
func dirSize(dir string) (int64, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return 0, err
	}
	var n int64
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}

// doctorSAM reports the user's settings file, the SAM embedding cache
// (folder, size, bound, entries) and which SAM encoder runs.
func (r *report) doctorSAM(cache string) {
	st, err := settings.Load()
	path, perr := settings.Path()
	switch {
	case err != nil:
		r.problem("%s", oneLine(err.Error()))
	case perr != nil:
		r.ok("settings: none (%s): the defaults", oneLine(perr.Error()))
	case fileExists(path):
		r.ok("settings: %s", path)
	default:
		r.ok("settings: %s absent: the defaults", path)
	}
	opts := app.SAMOptions(st)
	u, err := sam.CacheUsage(cache, opts)
	switch {
	case u.Dir == "":
		r.ok("SAM embeddings: not cached on disk")
	case err != nil:
		r.warn("SAM embeddings: %s: %s", u.Dir, oneLine(err.Error()))
	default:
		bound := "no bound"
		if u.Bound > 0 {
			bound = fmt.Sprintf("bound %.0f MB", float64(u.Bound)/(1<<20))
		}
		r.ok("SAM embeddings: %s: %d slices, %.1f MB (%s; settings.json embedding_cache.max_mb or $POLYSEG_EMBED_CACHE_MB changes it)",
			u.Dir, u.Entries, float64(u.Bytes)/(1<<20), bound)
		if n, size := legacyEmbeddings(u.Dir); n > 0 {
			r.ok("SAM embeddings of older builds (float32, *.emb): %d files, %.1f MB, no longer read; delete them to free the space", n, float64(size)/(1<<20))
		}
	}
	mem := opts.MemoryBytes
	if mem <= 0 {
		mem = sam.DefaultMemoryBytes
	}
	r.ok("SAM embeddings in memory: at most %.0f MB", float64(mem)/(1<<20))
	enc := opts.Encoder
	if enc == "" {
		enc = sam.DefaultEncoder
	}
	modelDir := filepath.Join(cache, "models")
	m, err := models.Find("sam-encoder", modelDir)
	if err != nil {
		return // the Models section said why
	}
	_, qerr := sam.FindInt8(m, modelDir)
	switch {
	case enc == sam.EncoderInt8 && qerr != nil:
		r.problem("SAM encoder: int8 chosen in the settings, but %s", oneLine(qerr.Error()))
	case enc == sam.EncoderInt8:
		r.ok("SAM encoder: int8 (%s%s, chosen in the settings)", m.Name, sam.Int8Suffix)
	case qerr == nil:
		r.ok("SAM encoder: float32 (%s); its int8 variant is there (settings.json \"sam_encoder\": \"int8\" runs it)", m.Name)
	default:
		r.ok("SAM encoder: float32 (%s)", m.Name)
	}
	if len(st.SAMWindows) > 0 {
		names := slices.Sorted(maps.Keys(st.SAMWindows))
		for _, n := range names {
			w := st.SAMWindows[n]
			r.ok("SAM window for segments named %q: level %g, width %g (the others: the encoder's default)", n, w.Level, w.Width)
		}
	}
}

// legacyEmbeddings counts the float32 cache files of builds before the
// half-precision cache.
func legacyEmbeddings(dir string) (n int, size int64) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".emb") {
			if info, err := d.Info(); err == nil {
				n++
				size += info.Size()
			}
		}
		return nil
	})
	return n, size
}
