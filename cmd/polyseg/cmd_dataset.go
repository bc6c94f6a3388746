package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "dataset",
		summary: "make, fill, list and check nnU-Net datasets (init, add, status, check)",
		usage: "init [--name NAME] [--from SRC] DIR | add [--labels LABELS] [--case ID] [--series UID|N] [--allow-gaps] DIR SCAN | " +
			"status DIR | check DIR",
		run: runDataset,
	})
}

// runDataset dispatches to the subcommand; each parses its own flags.
func runDataset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("want a subcommand: init, add, status or check")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "init":
		return runDatasetInit(ctx, rest, stdout, stderr)
	case "add":
		return runDatasetAdd(ctx, rest, stdout, stderr)
	case "status":
		return runDatasetStatus(ctx, rest, stdout, stderr)
	case "check":
		return runDatasetCheck(ctx, rest, stdout, stderr)
	case "-h", "--help", "help":
		return flag.ErrHelp
	}
	return usageErr("unknown subcommand %q: want init, add, status or check", sub)
}

// runDatasetInit makes an empty nnU-Net dataset in DIR, and fills it with
// the cases of a plain folder of scans: SRC, or DIR itself when it holds
// scans. Run again over a dataset, it adds the cases that are not there
// yet, so an interrupted conversion resumes.
func runDatasetInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dataset init", stderr)
	name := fs.String("name", "", "the dataset's `name` in dataset.json (default: the folder's name)")
	from := fs.String("from", "", "a `folder` of NIfTI files and DICOM series, or a Decathlon dataset, whose cases to copy into the dataset (default: DIR's own scans)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 1 {
		return usageErr("want one DIR, got %d arguments", len(pos))
	}
	dir := pos[0]
	// The source is listed before DIR becomes a dataset. DIR's own scans
	// are listed as a plain folder's even once it is one, so that an
	// interrupted conversion in place resumes.
	var src *dataset.Dataset
	inPlace := *from == "" || sameDir(*from, dir)
	switch {
	case !inPlace:
		if src, err = dataset.Open(ctx, *from, dataset.Options{}); err != nil {
			return err
		}
	case isDir(dir):
		if src, err = dataset.OpenPlain(ctx, dir, dataset.Options{}); err != nil {
			return err
		}
		if len(src.Cases) == 0 {
			src = nil
		}
	}
	d, err := dataset.Init(ctx, dir, *name, dataset.Options{})
	switch {
	case errors.Is(err, dataset.ErrExists) && src != nil:
		// Resume a conversion into the dataset already there.
		if d, err = dataset.Open(ctx, dir, dataset.Options{}); err != nil {
			return err
		}
		if d.Layout == dataset.Plain {
			return fmt.Errorf("dataset %s: not a dataset and cannot be made one", dir)
		}
	case err != nil:
		return err
	default:
		fmt.Fprintf(stdout, "made %s: an empty %s dataset %q (imagesTr, labelsTr, dataset.json)\n", dir, d.Layout, d.Name())
	}
	if src == nil {
		return nil
	}
	fmt.Fprintf(stdout, "converting %d cases of %s\n", len(src.Cases), src.Dir)
	added := 0
	err = d.Import(ctx, src, nil, func(r dataset.ImportResult) {
		from := r.Source.Images[0]
		switch {
		case errors.Is(r.Err, dataset.ErrExists):
			fmt.Fprintf(stdout, "case %s: already in the dataset, skipped (%s)\n", r.ID, from)
		case r.Err != nil:
			fmt.Fprintf(stdout, "case %s: FAILED: %s\n", r.ID, oneLine(r.Err.Error()))
		default:
			added++
			what := "no labels"
			if r.Source.Label != "" {
				what = "labels " + r.Source.Label
			}
			fmt.Fprintf(stdout, "case %s: added from %s (%s)\n", r.ID, from, what)
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(stdout, "  warning: %s\n", w)
		}
	})
	fmt.Fprintf(stdout, "%s: %d cases added, %d in the dataset\n", dir, added, len(d.Cases))
	return err
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// sameDir reports whether a and b name the same existing folder.
func sameDir(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// runDatasetAdd adds one scan, and its labels brought onto its grid, as a
// case of the dataset in DIR.
func runDatasetAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dataset add", stderr)
	labels := fs.String("labels", "", "a NIfTI label `file` for the scan, resampled onto its grid (default: an empty label volume)")
	id := fs.String("case", "", "the case's `ID`: letters, digits, _ and - (default: made from SCAN's name)")
	var series seriesFlag
	series.register(fs, "DICOM series to add: its `UID or number` (see polyseg info)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 2 {
		return usageErr("want a dataset DIR and a SCAN, got %d arguments", len(pos))
	}
	dir, scanPath := pos[0], pos[1]
	if *id == "" {
		*id = dataset.MakeID(scanPath)
	} else if err := dataset.ValidID(*id); err != nil {
		return usageErr("%v", err)
	}
	d, err := dataset.Open(ctx, dir, dataset.Options{})
	if err != nil {
		return err
	}
	if d.Layout == dataset.Plain {
		return fmt.Errorf("dataset %s: not an nnU-Net or Decathlon dataset (no dataset.json): make one with polyseg dataset init %s", dir, dir)
	}
	var v *volume.Volume
	var l *volume.Labels
	if *labels != "" {
		v, l, err = series.openScanWithLabels(ctx, scanPath, *labels, stderr)
	} else {
		v, err = series.openScan(ctx, scanPath)
	}
	if err != nil {
		return err
	}
	for _, w := range v.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	c, err := d.AddCase(ctx, *id, v, l, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added case %s to %s: %s, %s\n", c.ID, dir, rel(dir, c.Images[0]), rel(dir, c.Label))
	if l != nil {
		fmt.Fprintf(stdout, "labels: %s\n", describeValues(l, d.Labels()))
	}
	fmt.Fprintf(stdout, "%s: %d cases, %d labels declared (background included)\n", filepath.Join(dir, dataset.JSONName), len(d.Cases), len(d.Labels()))
	return nil
}

// describeValues lists the label values present with their declared names.
func describeValues(l *volume.Labels, declared []dataset.Label) string {
	names := map[uint16]string{}
	for _, x := range declared {
		names[x.Value] = x.Name
	}
	var present [1 << 16]bool
	for _, v := range l.Data {
		present[v] = true
	}
	var parts []string
	for v, ok := range present {
		if ok && v != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", v, names[uint16(v)]))
		}
	}
	if len(parts) == 0 {
		return "none (background only)"
	}
	return strings.Join(parts, ", ")
}

func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// runDatasetStatus prints the worklist: each case's status, who last
// worked on it and for how long, whether it is open somewhere, its note.
func runDatasetStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dataset status", stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 1 {
		return usageErr("want one DIR, got %d arguments", len(pos))
	}
	d, err := dataset.Open(ctx, pos[0], dataset.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s dataset %q, %d cases\n", d.Dir, d.Layout, d.Name(), len(d.Cases))
	if d.ReadOnly() {
		fmt.Fprintf(stdout, "read-only: convert it with polyseg dataset init %s (or --from %s into another folder)\n", d.Dir, d.Dir)
	}
	entries := d.Worklist()
	counts := map[dataset.Status]int{}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tstatus\tlast worked on by\tediting time\topen in\tnote")
	for _, e := range entries {
		counts[e.State.Status]++
		by := "-"
		if e.State.User != "" {
			by = e.State.User + "@" + e.State.Host
			if !e.State.Updated.IsZero() {
				by += " " + e.State.Updated.Local().Format("2006-01-02 15:04")
			}
		}
		open := "-"
		switch {
		case e.Lock.Held && e.Lock.Stale:
			open = fmt.Sprintf("STALE lock of %s (%s)", e.Lock.Holder, e.Lock.Why)
		case e.Lock.Held:
			open = e.Lock.Holder.String()
		}
		note := strings.ReplaceAll(e.State.Note, "\n", " ")
		if e.Err != nil {
			note = "ERROR: " + oneLine(e.Err.Error())
		}
		label := ""
		if !e.Case.Labeled {
			label = " (no labels)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\n", e.Case.ID, label, e.State.Status, by,
			e.State.EditTime.Round(time.Second), open, note)
	}
	tw.Flush()
	// tabwriter pads an empty last column; trailing blanks only get in
	// the way of whoever greps or diffs the list.
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if line != "" {
			fmt.Fprintln(stdout, strings.TrimRight(line, " \n"))
		}
	}
	var parts []string
	for _, s := range dataset.Statuses {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(stdout, "summary: %s\n", strings.Join(parts, ", "))
	}
	return nil
}

// runDatasetCheck verifies the dataset as nnU-Net's
// --verify_dataset_integrity does; it exits 1 when anything is wrong,
// after printing each problem with its case and file.
func runDatasetCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dataset check", stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 1 {
		return usageErr("want one DIR, got %d arguments", len(pos))
	}
	d, err := dataset.Open(ctx, pos[0], dataset.Options{})
	if err != nil {
		return err
	}
	p := newProgressLine(stderr, "check")
	r, err := d.Check(ctx, func(done, total int) { p.Report(done, total, "") })
	p.end()
	if err != nil {
		return err
	}
	printCheck(stdout, r)
	if err := r.Err(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s dataset %q, %d cases, %d labels: OK\n", d.Dir, r.Layout, d.Name(), r.Cases, len(d.Labels()))
	return nil
}

// printCheck prints what a dataset check found, problems and notes, each
// with its case and file: polyseg dataset check's lines, which polyseg
// train prints too when it refuses a dataset.
func printCheck(w io.Writer, r *dataset.Report) {
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, pr := range r.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", pr)
	}
}
