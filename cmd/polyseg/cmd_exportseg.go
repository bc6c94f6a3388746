package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/dicomseg"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "export-seg",
		summary: "write a label volume as a DICOM SEG of the DICOM series it segments",
		usage:   "--scan DICOMDIR [--series UID|N] [--allow-gaps] [--colors TABLE] [--algorithm TYPE[:NAME]] LABELS OUT.dcm",
		run:     runExportSEG,
	})
}

// runExportSEG brings LABELS onto the series' grid (volume.LoadLabels) and
// writes it with dicomseg.WriteFile, atomically. Each segment's algorithm
// comes from LABELS' provenance sidecar when it has one (app.SegmentAlgorithms),
// else from --algorithm, else MANUAL with a note.
func runExportSEG(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export-seg", stderr)
	var series seriesFlag
	series.register(fs, "DICOM series the labels segment: its `UID or number` (see polyseg info)")
	scan := fs.String("scan", "", "the DICOM `folder` of the series the labels segment (required)")
	colors := fs.String("colors", "", "colour `table` naming and colouring the labels (default: TotalSegmentator v2's)")
	algorithm := fs.String("algorithm", "", "how every segment was made, `MANUAL, SEMIAUTOMATIC:NAME or AUTOMATIC:NAME` (default: from the labels' provenance sidecar)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 2 {
		return usageErr("want LABELS and OUT.dcm, got %d arguments", len(pos))
	}
	if *scan == "" {
		return usageErr("--scan DICOMDIR is required: a segmentation refers to the DICOM series it segments")
	}
	labelsPath, out := pos[0], pos[1]
	var fixed *dicomseg.Algorithm
	if *algorithm != "" {
		a, err := parseAlgorithm(*algorithm)
		if err != nil {
			return usageErr("--algorithm: %v", err)
		}
		fixed = &a
	}
	if err := checkOutput(out, labelsPath, *scan); err != nil {
		return err
	}
	table := assets.DefaultColorTable()
	if *colors != "" {
		if table, err = assets.ReadColorTableFile(*colors); err != nil {
			return err
		}
	}
	src, err := dicomseg.OpenSource(ctx, *scan, series.opt)
	if err != nil {
		return dicomHint(err)
	}
	labels, warnings, err := volume.LoadLabels(labelsPath, src.Grid)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	alg := func(uint16) dicomseg.Algorithm { return dicomseg.Algorithm{Type: dicomseg.Manual} }
	switch entries, err := app.ReadProvenance(labelsPath); {
	case fixed != nil:
		alg = func(uint16) dicomseg.Algorithm { return *fixed }
	case err == nil:
		alg = app.SegmentAlgorithms(entries)
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(stderr, "note: %s has no provenance sidecar: every segment is marked MANUAL; give --algorithm AUTOMATIC:NAME if a program made them\n", labelsPath)
	default:
		return err
	}
	segs := dicomseg.Describe(labels.Present(), table, alg)
	sum, err := dicomseg.WriteFile(ctx, out, src, labels, dicomseg.WriteOptions{Segments: segs, Software: "polyseg"})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d segments in %d frames, a DICOM SEG of the %d slices in %s\n", out, len(sum.Segments), sum.Frames, len(src.Instances), src.Dir)
	for n, s := range sum.Segments {
		how := s.Algorithm.Type
		if s.Algorithm.Name != "" {
			how += " (" + s.Algorithm.Name + ")"
		}
		fmt.Fprintf(stdout, "  segment %d: label %d %s, %s %s\n", n+1, s.Value, s.Label, s.Coding.Type.Meaning, how)
	}
	for _, n := range sum.Notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	return nil
}

// parseAlgorithm reads TYPE[:NAME].
func parseAlgorithm(s string) (dicomseg.Algorithm, error) {
	typ, name, _ := strings.Cut(s, ":")
	a := dicomseg.Algorithm{Type: strings.ToUpper(strings.TrimSpace(typ)), Name: strings.TrimSpace(name)}
	switch a.Type {
	case dicomseg.Manual:
		a.Name = ""
	case dicomseg.Semiautomatic, dicomseg.Automatic:
		if a.Name == "" {
			return a, fmt.Errorf("%s needs a name: %s:NAME", a.Type, a.Type)
		}
	default:
		return a, fmt.Errorf("%q: want MANUAL, SEMIAUTOMATIC:NAME or AUTOMATIC:NAME", s)
	}
	return a, nil
}
