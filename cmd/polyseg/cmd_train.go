package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/trainjob"
)

func init() {
	register(command{
		name:    "train",
		summary: "train a multi-organ U-Net on a dataset's done cases (PolyCL pre-training, fine-tuning; needs PyTorch)",
		usage: "[--name NAME] [--profile cpu30|gpu|smoke] [--seed S] [--val-case CASE] [--cases A,B,...] [--force] " +
			"[--processes N] [--device auto|cpu|cuda] DIR [-- TRAINER ARGS]",
		run: runTrain,
	})
}

// runTrain runs the trainer of training/ on the dataset in DIR (package
// trainjob) and says where the model went.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var extra []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, extra = args[:i], args[i+1:]
	}
	fs := newFlags("train", stderr)
	name := fs.String("name", "", "the model's `name`: its folder DIR/models/NAME (default: model-DATE-TIME)")
	profile := fs.String("profile", "", "training `profile`: cpu30 (two CPU cores, about 30 minutes), gpu, smoke (seconds; tests) (default: gpu when PyTorch sees a GPU, else cpu30)")
	seed := fs.Int("seed", 0, "random `seed` of the training and of the validation case's draw")
	valCase := fs.String("val-case", "", "the done `case` to hold out for validation (default: drawn by the seed when 3 or more are done)")
	cases := fs.String("cases", "", "the `cases` to train on, comma-separated (default: those marked done on the worklist)")
	force := fs.Bool("force", false, "replace a model of the same name")
	procs := fs.Int("processes", 0, "training processes, several under torchrun (default: one per GPU when there are several, else 1)")
	device := fs.String("device", "", "the trainer's `device`: auto, cpu or cuda (default: auto)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 1 {
		return usageErr("want one dataset DIR, got %d arguments", len(pos))
	}
	if *profile != "" && !slices.Contains(trainjob.Profiles, *profile) {
		return usageErr("--profile %q: want one of %s", *profile, strings.Join(trainjob.Profiles, ", "))
	}
	if *procs < 0 {
		return usageErr("--processes %d: want 1 or more (0: one per GPU)", *procs)
	}
	opt := trainjob.Options{Dataset: pos[0], Name: *name, Profile: *profile, Seed: *seed, ValCase: *valCase,
		Force: *force, Processes: *procs, Device: *device, Extra: extra}
	if *cases != "" {
		for _, c := range strings.Split(*cases, ",") {
			if c = strings.TrimSpace(c); c != "" {
				opt.Cases = append(opt.Cases, c)
			}
		}
		if len(opt.Cases) == 0 {
			return usageErr("--cases %q names no case", *cases)
		}
	}

	check := newProgressLine(stderr, "check")
	opt.OnCheck = func(done, total int) { check.Report(done, total, "") }
	progress := newProgressLine(stderr, "train")
	opt.OnLine = func(l trainjob.Line) {
		// Progress events become the progress line; the trainer's
		// messages and polyseg's notes are printed as they come.
		if l.Stream != "stdout" {
			progress.end()
			fmt.Fprintln(stderr, l.Text)
		}
	}
	opt.OnEvent = func(e trainjob.Event) {
		switch e.Event {
		case "step":
			if e.Fraction != nil {
				progress.Report(int(*e.Fraction*1000), 1000, e.Describe())
			}
		case "phase", "warning":
			progress.end()
			fmt.Fprintln(stderr, e.Describe())
		}
	}
	plan, err := trainjob.Prepare(ctx, opt)
	check.end()
	var ce *dataset.CheckError
	if errors.As(err, &ce) {
		printCheck(stdout, ce.Report)
		return err
	}
	if err != nil {
		return err
	}
	for _, n := range plan.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	fmt.Fprintf(stdout, "training %s on %d done cases of %s (%s): profile %s, seed %d, %s\n", plan.Name, len(plan.Cases), plan.Dir,
		strings.Join(plan.Cases, ", "), plan.Profile, *seed, describeRunner(plan))
	res, err := plan.Run(ctx)
	progress.end()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, %s; %s)\n", res.Dir, res.Manifest.File, res.Manifest.Name+".json", res.Elapsed.Round(1e9))
	if res.ValidationCase != "" {
		fmt.Fprintf(stdout, "validation on %s (3D Dice, largest component): %s\n", res.ValidationCase, trainjob.FormatDice(res.Validation, labelNames(res.Manifest)...))
	} else {
		fmt.Fprintln(stdout, "no validation: fewer than 3 done cases")
	}
	fmt.Fprintf(stdout, "use it: polyseg segment --model %s IN OUT.nii.gz\n", res.Dir)
	return nil
}

// describeRunner says which Python runs the training, and how many
// processes.
func describeRunner(p *trainjob.Plan) string {
	s := fmt.Sprintf("PyTorch %s (%s)", p.Python.Torch, p.Python.Exe)
	if p.Python.GPUs > 0 {
		s += fmt.Sprintf(", %d GPUs", p.Python.GPUs)
	}
	if p.Processes > 1 {
		s += fmt.Sprintf(", %d processes under torchrun", p.Processes)
	}
	return s
}

// labelNames lists a model's label names in its manifest's order.
func labelNames(m *models.Manifest) []string {
	names := make([]string, len(m.Labels))
	for i, l := range m.Labels {
		names[i] = l.Name
	}
	return names
}
