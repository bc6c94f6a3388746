// Package evalkit is what the evaluation scripts under scripts/ share: the
// real patients and their organs, the flags every script takes (where the
// fixtures are, where the report goes, which patients, how many threads),
// the ONNX Runtime and SAM they run, and the signal handling of their
// main. The scripts write the reports in docs/; nothing here is linked
// into the app.
package evalkit

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/volume"
)

// Organ is a structure the reports score, by its name and its value in the
// fixtures' reference labels (TotalSegmentator's numbering: the reference
// files' values, which the engines never see).
type Organ struct {
	Name  string
	Value uint16
}

// Patient is one real patient of ../shared/data/real: its scan, its
// reference labels and the organs it holds.
type Patient struct {
	Name, CT, Seg string
	Organs        []Organ
}

// Open reads the patient's scan and its reference labels on the scan's
// grid.
func (p Patient) Open(ctx context.Context) (*volume.Volume, *volume.Labels, error) {
	v, err := volume.Open(ctx, p.CT, volume.OpenOptions{})
	if err != nil {
		return nil, nil, err
	}
	ref, _, err := volume.LoadLabels(p.Seg, v.Grid)
	if err != nil {
		return nil, nil, err
	}
	return v, ref, nil
}

// Organ returns the patient's organ of that name.
func (p Patient) Organ(name string) (Organ, bool) {
	for _, o := range p.Organs {
		if o.Name == name {
			return o, true
		}
	}
	return Organ{}, false
}

// Patients are the two real patients: A (NIfTI, non-contrast, 3 mm) with
// liver, spleen and both kidneys; B (20 DICOM slices, contrast) with liver
// and spleen (its slices hold no kidney). data is the fixtures' folder.
func Patients(data string) []Patient {
	return []Patient{
		{"A", filepath.Join(data, "example_ct.nii.gz"), filepath.Join(data, "example_seg_fast_force_split.nii.gz"),
			[]Organ{{"liver", 5}, {"spleen", 1}, {"kidney_right", 2}, {"kidney_left", 3}}},
		{"B", filepath.Join(data, "example_ct_dicom"), filepath.Join(data, "example_seg_dicom.nii.gz"),
			[]Organ{{"liver", 5}, {"spleen", 1}}},
	}
}

// Flags are the flags every evaluation script takes.
type Flags struct {
	Data     string // the fixtures' folder
	Out      string // the report's path; empty: standard output only
	Patients string // the patients to run, by name, comma-separated
	Threads  int    // ONNX Runtime's intra-op threads; 0: every CPU
}

// Register adds the flags to fs; out says what -out writes.
func (f *Flags) Register(fs *flag.FlagSet, out string) {
	fs.StringVar(&f.Data, "data", "../shared/data/real/totalsegmentator", "folder of the real fixtures")
	fs.StringVar(&f.Out, "out", "", out+"; empty: stdout only")
	fs.StringVar(&f.Patients, "patients", "A,B", "patients to run")
	fs.IntVar(&f.Threads, "threads", 0, "intra-op threads (0: all CPUs)")
}

// Selected returns the patients -patients names.
func (f *Flags) Selected() []Patient {
	var out []Patient
	for _, p := range Patients(f.Data) {
		if strings.Contains(f.Patients, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

// SAM loads the runtime with the flags' threads and the bundled SAM.
func (f *Flags) SAM() (*onnxrt.Runtime, *sam.Model, error) { return f.SAMWith(sam.Options{}) }

// SAMWith is SAM with SAM's options (the encoder variant, the embeddings'
// precision).
func (f *Flags) SAMWith(opts sam.Options) (*onnxrt.Runtime, *sam.Model, error) {
	rt, err := onnxrt.NewRuntime(onnxrt.Options{Threads: f.Threads})
	if err != nil {
		return nil, nil, err
	}
	sm, err := sam.LoadDefault(rt, opts)
	if err != nil {
		return nil, nil, err
	}
	return rt, sm, nil
}

// WriteReport writes the report to -out atomically (nothing when -out is
// empty).
func (f *Flags) WriteReport(report []byte) error {
	if f.Out == "" {
		return nil
	}
	return atomicfile.WriteFile(f.Out, 0o644, func(w io.Writer) error {
		_, err := w.Write(report)
		return err
	})
}

// Main runs a script's run function with a context Ctrl+C cancels, and
// exits 1 with its error.
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
