package volume

import (
	"os"
	"path/filepath"
	"testing"
)

// nrrdSeeds returns the fixtures and small synthetic files as seeds.
func nrrdSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"BallBinary30x30x30_gz.nrrd", "BallBinary30x30x30.nhdr", "BallBinary30x30x30_gz_lineskip.nrrd",
		"BallBinary30x30x30_byteskip_minus_one.nhdr", "test_simple4d_raw.nrrd", "dcmqi_liver_seg.nrrd"} {
		b, err := os.ReadFile(filepath.Join(nrrdTestdata, name))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b[:min(len(b), fuzzMaxInput)])
	}
	seeds = append(seeds,
		synthNRRD{lines: slicerLayeredHeader, typ: "uint8", encoding: "gzip", values: layered(false)}.bytes(f),
		synthNRRD{lines: []string{"type: float", "dimension: 3", "space: RAS", "sizes: 2 1 2", "space directions: (1,0,0) (0,1,0) (0,0,1)",
			"endian: big", "encoding: ascii", "line skip: 0"}, typ: "float32", encoding: "ascii", values: []float64{1, -2.5, 3, 4}}.bytes(f),
		synthNRRD{lines: []string{"type: int", "dimension: 4", "sizes: 2 1 1 3", "spacings: 1 1 1 nan", "kinds: domain domain domain list",
			"endian: little", "encoding: raw", "byte skip: 2"}, typ: "int32", values: []float64{0, 1, 2, 3, 4, 5, 6}}.bytes(f),
	)
	return seeds
}

// FuzzNRRDHeader parses arbitrary header text: no panic, and a header that
// parses describes a grid the package can allocate and invert.
func FuzzNRRDHeader(f *testing.F) {
	for _, s := range nrrdSeeds(f) {
		if text, _, ok := splitNRRDHeader(s); ok {
			f.Add(text)
		} else {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		h, err := parseNRRDHeader(b)
		if err != nil {
			return
		}
		if err := CheckDims(h.Grid.Dims); err != nil {
			t.Fatalf("parsed header with bad dimensions: %v", err)
		}
		if !affineUsable(h.Grid.Affine) {
			t.Fatalf("parsed header with an unusable affine %v", h.Grid.Affine)
		}
		if h.Components < 1 || h.Components > maxNRRDComponents || (h.ListAxis != -1 && h.ListAxis != 0 && h.ListAxis != 3) {
			t.Fatalf("components %d on axis %d", h.Components, h.ListAxis)
		}
		if h.elements() <= 0 || h.bytesPerValue() < 1 {
			t.Fatalf("%d elements of %d bytes", h.elements(), h.bytesPerValue())
		}
	})
}

// FuzzReadNRRD reads arbitrary files as scans and as label volumes: an
// error or a volume of the header's size, never a panic. Files whose header
// claims more than streamChunk bytes, or a data file elsewhere, are only
// parsed (see fuzz_nifti_test.go for why).
func FuzzReadNRRD(f *testing.F) {
	for _, s := range nrrdSeeds(f) {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		path := filepath.Join(dir, "f.nrrd")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		h, err := readNRRDHeader(path)
		if err != nil || h.DataPath != path || h.elements()*int64(h.bytesPerValue()) > streamChunk {
			return
		}
		if v, err := ReadNRRD(path); err == nil && len(v.Data) != h.Grid.Len() {
			t.Fatalf("%d voxels for grid %v", len(v.Data), h.Grid.Dims)
		}
		if l, err := ReadLabelsNRRD(path); err == nil && len(l.Data) != h.Grid.Len() {
			t.Fatalf("%d labels for grid %v", len(l.Data), h.Grid.Dims)
		}
	})
}
