package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/app/robot"
	"github.com/polyseg/polyseg/internal/atomicfile"
)

func init() {
	register(command{
		name:    "evaluate-interactive",
		summary: "count the interactions a robot annotator needs with SAM clicks (and, with --baseline, by tracing slices)",
		usage:   "--label N [--max K] [--start box|mask] [--csv OUT.csv] [--baseline] [--series UID|N] [--allow-gaps] SCAN REF",
		run:     runEvaluateInteractive,
	})
}

// runEvaluateInteractive runs the robot annotator (app/robot) on SCAN with
// the organ of value N in REF, through the app's own operations, and
// prints one line per interaction and the NoC figures.
func runEvaluateInteractive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("evaluate-interactive", stderr)
	label := fs.Int("label", 0, "the organ's label value in REF (required)")
	maxN := fs.Int("max", robot.DefaultMax, "interactions, the first included")
	start := fs.String("start", string(robot.StartBox), "the first interaction: box (the organ's box on its largest axial slice), mask (that slice's reference mask) or click (one SAM click at the organ's deepest point there)")
	csvPath := fs.String("csv", "", "also write the interactions to this CSV `file` (atomically); with --baseline the manual robot's go to the same name with -manual before the extension")
	baseline := fs.Bool("baseline", false, "also run the manual robot: one traced slice per interaction, filled between")
	var series seriesFlag
	series.register(fs, "DICOM series to read: its `UID or number` (see polyseg info)")
	var rf runtimeFlags
	rf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	switch {
	case len(pos) != 2:
		return usageErr("want a scan and a reference label file, got %d arguments", len(pos))
	case *label <= 0 || *label > 65535:
		return usageErr("--label %d: want a label value 1..65535", *label)
	case *maxN < 1 || *maxN > 1000:
		return usageErr("--max %d: want 1 to 1000 interactions", *maxN)
	case *start != string(robot.StartBox) && *start != string(robot.StartMask) && *start != string(robot.StartClick):
		return usageErr("--start %q: want box, mask or click", *start)
	}
	if err := rf.check(); err != nil {
		return err
	}
	scan, refPath := pos[0], pos[1]
	var manualCSV string
	if *csvPath != "" {
		if err := checkOutput(*csvPath, scan, refPath); err != nil {
			return err
		}
		if *baseline {
			ext := filepath.Ext(*csvPath)
			manualCSV = strings.TrimSuffix(*csvPath, ext) + "-manual" + ext
			if err := checkOutput(manualCSV, scan, refPath); err != nil {
				return err
			}
		}
	}
	v, ref, err := series.openScanWithLabels(ctx, scan, refPath, stderr)
	if err != nil {
		return err
	}
	mo, err := rf.modelOptions()
	if err != nil {
		return err
	}
	models := app.NewModels(mo)
	defer models.Close()
	session := func() (*app.Session, error) {
		s := app.New(app.Options{Models: models, ClickDelay: -1})
		if err := s.SetVolume(v, scan); err != nil {
			s.Close()
			return nil, err
		}
		// As the app does on opening a scan: the U-Net, when it segments
		// a structure of the segment's name, then guards SAM's answers.
		<-s.ProbeModels()
		return s, nil
	}
	opts := robot.Options{Label: uint16(*label), Max: *maxN, Start: robot.Start(*start)}
	name := fmt.Sprintf("label %d", *label)
	s, err := session()
	if err != nil {
		return err
	}
	defer s.Close()
	if n := s.SegmentOf(uint16(*label)).Name; n != "" {
		name = fmt.Sprintf("%s (label %d)", n, *label)
	}
	st := s.ModelStatus()
	fmt.Fprintf(stdout, "SAM robot on %s, %s; slices numbered as the app shows them, from 1\n", scan, name)
	fmt.Fprintf(stdout, "models on %s; U-Net %s\n", orUnknown(st.Provider), orUnknown(st.UNet))
	opts.OnStep = func(x robot.Step) { printStep(stdout, x) }
	res, err := robot.SAM(ctx, s, ref, opts)
	if err != nil {
		return fmt.Errorf("SAM robot on %s: %w", scan, err)
	}
	fmt.Fprintf(stdout, "NoC@0.90 %d, NoC@0.95 %d (%d when never)\n", res.NoC90, res.NoC95, *maxN+1)
	if *csvPath != "" {
		if err := writeSteps(*csvPath, res.Steps); err != nil {
			return err
		}
	}
	if !*baseline {
		return nil
	}
	m, err := session()
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Fprintf(stdout, "manual robot (one traced slice per interaction, filled between) on %s\n", name)
	man, err := robot.Manual(ctx, m, ref, opts)
	if err != nil {
		return fmt.Errorf("manual robot on %s: %w", scan, err)
	}
	fmt.Fprintf(stdout, "NoC@0.90 %d, NoC@0.95 %d (%d when never)\n", man.NoC90, man.NoC95, *maxN+1)
	if manualCSV != "" {
		return writeSteps(manualCSV, man.Steps)
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// printStep prints one interaction: its number, the 3D Dice, the slice
// acted on (from 1, as the views number it) and its seconds.
func printStep(w io.Writer, x robot.Step) {
	slice := "-"
	if x.Slice >= 0 {
		slice = strconv.Itoa(x.Slice + 1)
	}
	fmt.Fprintf(w, "%3d  Dice %.4f  slice %4s  %6.2f s  %s\n", x.Interaction, x.Dice, slice, x.Seconds, x.What)
}

// writeSteps writes the interactions as CSV: interaction (from 1), dice,
// slice (from 1; empty when none was acted on), seconds.
func writeSteps(path string, steps []robot.Step) error {
	return atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write([]string{"interaction", "dice", "slice", "seconds"}); err != nil {
			return err
		}
		for _, x := range steps {
			slice := ""
			if x.Slice >= 0 {
				slice = strconv.Itoa(x.Slice + 1)
			}
			if err := cw.Write([]string{strconv.Itoa(x.Interaction), strconv.FormatFloat(x.Dice, 'f', 6, 64), slice,
				strconv.FormatFloat(x.Seconds, 'f', 3, 64)}); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}
