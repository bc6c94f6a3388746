package app

import (
	"context"
	"encoding/json"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/dicomseg"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/volume"
)

func TestSegmentAlgorithms(t *testing.T) {
	unet := []onnxrt.ModelRef{{Name: "polycl-liver", Kind: "unet"}}
	sam := []onnxrt.ModelRef{{Name: "sam-encoder"}, {Name: "sam-decoder"}}
	entry := func(tool string, labels []uint16, models []onnxrt.ModelRef, opts map[string]any) ProvenanceEntry {
		return ProvenanceEntry{Name: tool, What: Provenance{Tool: tool, Labels: labels, Models: models, Options: opts}}
	}
	manual := dicomseg.Algorithm{Type: dicomseg.Manual}
	alg := func(typ, name string) dicomseg.Algorithm { return dicomseg.Algorithm{Type: typ, Name: name} }
	for _, tc := range []struct {
		name    string
		entries []ProvenanceEntry
		want    map[uint16]dicomseg.Algorithm
	}{
		{"no record", nil, map[uint16]dicomseg.Algorithm{5: manual}},
		{"brush and polygon", []ProvenanceEntry{entry("brush", []uint16{5}, nil, nil), entry("polygon", []uint16{5}, nil, nil)},
			map[uint16]dicomseg.Algorithm{5: manual}},
		{"the U-Net alone", []ProvenanceEntry{entry("segment", []uint16{5}, unet, nil)},
			map[uint16]dicomseg.Algorithm{5: alg(dicomseg.Automatic, "polycl-liver"), 1: manual}},
		{"the U-Net, then the brush", []ProvenanceEntry{entry("segment", []uint16{5}, unet, nil), entry("brush", []uint16{5}, nil, nil)},
			map[uint16]dicomseg.Algorithm{5: alg(dicomseg.Semiautomatic, "polycl-liver")}},
		{"a SAM box and propagation", []ProvenanceEntry{entry("sam-box", []uint16{1}, sam, nil), entry("propagate", []uint16{1}, sam, nil)},
			map[uint16]dicomseg.Algorithm{1: alg(dicomseg.Semiautomatic, "sam-encoder, sam-decoder")}},
		{"flood fill", []ProvenanceEntry{entry("flood-fill", []uint16{3}, nil, nil)},
			map[uint16]dicomseg.Algorithm{3: alg(dicomseg.Semiautomatic, "polyseg flood-fill")}},
		{"an undone U-Net", []ProvenanceEntry{entry("brush", []uint16{5}, nil, nil), {Undone: true, What: Provenance{Tool: "segment", Labels: []uint16{5}, Models: unet}}},
			map[uint16]dicomseg.Algorithm{5: manual}},
		{"a NIfTI loaded forgets what came before", []ProvenanceEntry{entry("segment", []uint16{5}, unet, nil), entry("load", nil, nil, nil)},
			map[uint16]dicomseg.Algorithm{5: manual}},
		{"a SEG loaded keeps its algorithms", []ProvenanceEntry{entry("load", nil, nil, map[string]any{segAlgorithmsKey: map[string]any{"5": "AUTOMATIC:TotalSegmentator"}})},
			map[uint16]dicomseg.Algorithm{5: alg(dicomseg.Automatic, "TotalSegmentator"), 6: manual}},
		{"renumbered, through JSON", []ProvenanceEntry{entry("segment", []uint16{5}, unet, nil), entry("renumber", []uint16{9}, nil, map[string]any{"from": 5.0, "to": 9.0})},
			map[uint16]dicomseg.Algorithm{9: alg(dicomseg.Automatic, "polycl-liver"), 5: manual}},
		{"deleted", []ProvenanceEntry{entry("segment", []uint16{5}, unet, nil), entry("delete-segment", []uint16{0}, nil, map[string]any{"deleted": uint16(5)}), entry("brush", []uint16{5}, nil, nil)},
			map[uint16]dicomseg.Algorithm{5: manual}},
		{"restored autosave", []ProvenanceEntry{{What: Provenance{Tool: "restore-autosave", Earlier: []ProvenanceEntry{entry("segment", []uint16{5}, unet, nil)}}}},
			map[uint16]dicomseg.Algorithm{5: alg(dicomseg.Automatic, "polycl-liver")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Records go through JSON in sidecars: decide on what comes back.
			b, err := json.Marshal(tc.entries)
			if err != nil {
				t.Fatal(err)
			}
			var back []ProvenanceEntry
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			for _, entries := range [][]ProvenanceEntry{tc.entries, back} {
				of := SegmentAlgorithms(entries)
				for v, want := range tc.want {
					if got := of(v); got != want {
						t.Errorf("label %d: %+v, want %+v", v, got, want)
					}
				}
			}
		})
	}
}

// TestSEGExportAndLoad exports a session's labels as a DICOM SEG of the
// series it opened and loads the file back: the same voxels, names,
// colours and algorithms; a scan from NIfTI cannot export one.
func TestSEGExportAndLoad(t *testing.T) {
	series := "../dicomseg/testdata/dcmqi-23x38x3/image"
	s := New(Options{AutosaveDir: t.TempDir()})
	defer s.Close()
	if err := s.Open(series, volume.OpenOptions{}).Wait(); err != nil {
		t.Fatal(err)
	}
	if !s.ScanIsDICOM() {
		t.Fatal("a scan opened from a DICOM folder is not DICOM")
	}
	v, _ := s.Volume()
	l := volume.NewLabels(v.Grid)
	for i := range 200 {
		l.Data[i] = 5
		l.Data[v.Grid.Len()-1-i] = 200
	}
	if _, err := s.ReplaceLabelsWith("U-Net", l, &Provenance{Tool: "segment", Labels: []uint16{5}, Models: []onnxrt.ModelRef{{Name: "polycl-liver"}}}); err != nil {
		t.Fatal(err)
	}
	custom, err := s.AddSegment("my lesion")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paint("Paint", []int{1000, 1001}, custom); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "seg.dcm")
	sum, err := s.ExportSEG(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Segments) != 3 {
		t.Fatalf("%d segments written, want 3 (liver, 200, my_lesion)", len(sum.Segments))
	}
	if _, err := os.Stat(out + ProvenanceSuffix); err != nil {
		t.Errorf("no provenance sidecar: %v", err)
	}
	seg, err := dicomseg.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	algs := map[string]dicomseg.Algorithm{}
	for _, si := range seg.Segments {
		algs[si.Label] = si.Algorithm
	}
	if algs["liver"] != (dicomseg.Algorithm{Type: dicomseg.Automatic, Name: "polycl-liver"}) || algs["my_lesion"].Type != dicomseg.Manual {
		t.Errorf("algorithms %+v", algs)
	}

	want := labelsOf(s)
	if _, err := s.ReplaceLabels("Clear", volume.NewLabels(v.Grid)); err != nil {
		t.Fatal(err)
	}
	exported := s.SegmentOf(custom).Color
	if err := s.SetSegment(custom, "my_lesion", color.NRGBA{1, 2, 3, 255}); err != nil {
		t.Fatal(err)
	}
	warnings, err := s.LoadLabels(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q", warnings)
	}
	got := labelsOf(s)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("voxel %d: %d after the round trip, %d before", i, got[i], want[i])
		}
	}
	if seg := s.SegmentOf(custom); seg.Name != "my_lesion" || seg.Color != exported {
		t.Errorf("segment %d is %q, %v after loading, want my_lesion, %v", custom, seg.Name, seg.Color, exported)
	}
	if name := s.SegmentOf(200).Name; name != "label_200" {
		t.Errorf("value 200 is called %q", name)
	}
	// Exported again, the U-Net's liver is still AUTOMATIC.
	if alg := SegmentAlgorithms(s.ProvenanceLog())(5); alg.Type != dicomseg.Automatic {
		t.Errorf("after loading the SEG, liver is %+v", alg)
	}

	// The same SEG on a NIfTI scan, and an export from it, are refused.
	n := New(Options{AutosaveDir: t.TempDir()})
	defer n.Close()
	if err := n.SetVolume(&volume.Volume{Grid: v.Grid, Data: make([]float32, v.Grid.Len())}, filepath.Join(t.TempDir(), "scan.nii.gz")); err != nil {
		t.Fatal(err)
	}
	if n.ScanIsDICOM() {
		t.Error("a NIfTI scan is DICOM")
	}
	if _, err := n.LoadLabels(out); err == nil || !strings.Contains(err.Error(), "not one") {
		t.Errorf("loading a SEG onto a NIfTI scan: %v", err)
	}
	if _, err := n.ExportSEG(context.Background(), filepath.Join(t.TempDir(), "x.dcm")); err == nil || !strings.Contains(err.Error(), "not opened from a DICOM series") {
		t.Errorf("exporting a SEG from a NIfTI scan: %v", err)
	}
}
