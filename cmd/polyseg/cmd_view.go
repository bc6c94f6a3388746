package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/internal/settings"
	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/ui"
	"github.com/polyseg/polyseg/volume"
)

// appID is the app's unique ID, as in FyneApp.toml: Fyne keys preferences
// and storage on it.
const appID = "io.github.polyseg.polyseg"

func init() {
	register(command{
		name:    "view",
		summary: "open the desktop app, with a scan or a dataset if one is named",
		usage:   "[FILE|DIR] [--labels LABELS.nii.gz|LABELS.seg.nrrd [--goto LABEL]] [--series UID|N] [--allow-gaps] [--dataset] [--case ID] [--model NAME|MANIFEST.json] [--sam2 DIR] [--provider auto|cpu|cuda] [--threads N]",
		run:     runView,
	})
}

// viewArgs is the parsed command line of view.
type viewArgs struct {
	path, labels string
	goTo         string
	opts         volume.OpenOptions
	models       app.ModelOptions
	// dataset opens path as a dataset whatever it looks like; caseID is
	// the dataset's case to open first.
	dataset bool
	caseID  string
}

// parseViewArgs accepts the scan before or after the flags, as users type
// "polyseg view ct.nii.gz --labels seg.nii.gz".
func parseViewArgs(args []string, stderr io.Writer) (viewArgs, error) {
	fs := newFlags("view", stderr)
	labels := fs.String("labels", "", "label volume (NIfTI, NRRD or 3D Slicer .seg.nrrd) to show over the scan; resampled if on another grid")
	series := fs.String("series", "", "DICOM series to open from a folder holding several: its SeriesInstanceUID, or N for the N-th listed")
	allowGaps := fs.Bool("allow-gaps", false, allowGapsUsage)
	goTo := fs.String("goto", "", "label (name such as liver, or value) to put the crosshair in once the labels are shown")
	asDataset := fs.Bool("dataset", false, "open DIR as a dataset (a plain folder of scans) even where it looks like one DICOM series; a folder with dataset.json, imagesTr, NIfTI files or series folders opens as a dataset anyway")
	caseID := fs.String("case", "", "the dataset's case `ID` to open first (default: the first one still to do)")
	sam2 := fs.String("sam2", "", "folder of a SAM 2 export with its manifests (polyseg sam2-manifests): Propagate then uses SAM 2")
	model := fs.String("model", app.DefaultUNet, "U-Net for Segment: `name` (NAME.json in $POLYSEG_MODELS, else models/ beside the program or here, else the cache) or manifest path")
	var rf runtimeFlags
	rf.register(fs)
	var va viewArgs
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return va, usageErr("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) > 1 {
		return va, usageErr("one scan at a time (got %d: %q)", len(rest), rest)
	}
	if len(rest) == 1 {
		va.path = rest[0]
	}
	va.labels, va.goTo = *labels, *goTo
	va.dataset, va.caseID = *asDataset, *caseID
	if (va.dataset || va.caseID != "") && va.path == "" {
		return va, usageErr("--dataset and --case need a dataset folder")
	}
	if va.dataset || va.caseID != "" {
		if va.labels != "" || *series != "" {
			return va, usageErr("--labels and --series are for a scan, not a dataset")
		}
	}
	if err := rf.check(); err != nil {
		return va, err
	}
	switch onnxrt.Provider(rf.provider) {
	case onnxrt.ProviderAuto, onnxrt.ProviderCPU, onnxrt.ProviderCUDA:
	default:
		return va, usageErr("--provider %q: want auto, cpu or cuda", rf.provider)
	}
	st, err := settings.Load()
	if err != nil {
		return va, err
	}
	va.models = app.ModelOptions{
		Runtime:  onnxrt.Options{Library: rf.lib, Provider: onnxrt.Provider(rf.provider), Threads: rf.threads},
		UNet:     *model,
		SAM2Dir:  *sam2,
		SAM:      app.SAMOptions(st),
		Settings: st,
	}
	if va.labels != "" && va.path == "" {
		return va, usageErr("--labels needs a scan to lie on")
	}
	if va.goTo != "" && va.labels == "" {
		return va, usageErr("--goto needs --labels")
	}
	va.opts.DICOM.AllowGaps = *allowGaps
	if *series != "" {
		if va.path == "" {
			return va, usageErr("--series needs a DICOM folder")
		}
		if n, err := strconv.Atoi(*series); err == nil {
			if n < 1 {
				return va, usageErr("--series %d: series are numbered from 1", n)
			}
			va.opts.DICOM.SeriesIndex = n
		} else {
			va.opts.DICOM.SeriesUID = *series
		}
	}
	return va, nil
}

// example makes the scan shown when none is named: a phantom abdomen of
// scanner A, with its labels, so that a first start shows what the app does
// without a file at hand.
func example(ctx context.Context, p app.Progress) (*volume.Volume, *volume.Labels, error) {
	p.Report(-1, "generating a phantom abdomen")
	return phantom.Generate(ctx, phantom.Options{Seed: 1, Scanner: phantom.ScannerA()})
}

// opensDataset reports whether view opens va.path as a dataset: when
// asked to, or when it is a folder that looks like one
// (app.LooksLikeDataset) and no flag of a scan's was given.
func opensDataset(va viewArgs) bool {
	if va.dataset || va.caseID != "" {
		return true
	}
	if va.labels != "" || va.opts.DICOM.SeriesIndex != 0 || va.opts.DICOM.SeriesUID != "" {
		return false
	}
	return isDir(va.path) && app.LooksLikeDataset(va.path)
}

func runView(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	va, err := parseViewArgs(args, stderr)
	if err != nil {
		return err
	}
	if err := displayError(); err != nil {
		return err
	}
	limitGoHeap(ctx)
	a := fyneapp.NewWithID(appID)
	m, err := newWindow(a, app.Options{ModelOptions: va.models, EncodeAhead: true})
	if err != nil {
		return err
	}
	switch {
	case opensDataset(va):
		m.OpenDataset(va.path, va.caseID)
	case va.path != "":
		opened := m.Open(va.path, va.labels, va.opts)
		if va.goTo != "" {
			go func() {
				<-opened
				fyne.Do(func() {
					if err := m.GoToLabel(va.goTo); err != nil {
						fmt.Fprintf(stderr, "polyseg view: --goto: %v\n", err)
					}
				})
			}()
		}
	default:
		m.OpenGenerated("example", example)
	}
	// A test driving this binary (scripts/gui_smoke.sh) reads what the
	// window shows from a file.
	if path := os.Getenv(ui.DebugStateEnv); path != "" {
		stop := m.WriteDebugState(path, 100*time.Millisecond)
		defer stop()
	}
	// An interrupt (Ctrl+C in the terminal) closes the window as the
	// window's close button would, autosaving first.
	stop := context.AfterFunc(ctx, func() { fyne.Do(m.Close) })
	defer stop()
	m.ShowAndRun()
	// Fyne quits on the signal too, and may do so before the window's
	// close has saved the open dataset case.
	if err := m.LeaveDataset(); err != nil {
		return fmt.Errorf("the open dataset case was not saved into the dataset (its edits are in its autosave): %w", err)
	}
	return nil
}

// newWindow opens the main window. GLFW panics when it cannot open the
// display after all (a server that accepts the connection and then
// refuses it, or goes away between displayError's check and now): that
// is a one-line error for the user, not a stack trace.
func newWindow(a fyne.App, opts app.Options) (m *ui.MainWindow, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot open a window on DISPLAY %q: %v", os.Getenv("DISPLAY"), r)
		}
	}()
	return ui.New(a, opts), nil
}
