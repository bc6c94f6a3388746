package volume

import (
	"compress/gzip"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// fuzzMaxInput caps the inputs the fuzzers read: large enough for a small
// label volume, small enough to keep each run fast.
const fuzzMaxInput = 1 << 20

// Full reads are skipped for files whose header claims more voxel bytes
// than streamChunk: a gzip stream under fuzzMaxInput may legitimately claim
// a gigabyte, and allocating that on every run would test nothing but the
// allocator. Within one chunk the reader also runs without goroutines, so
// coverage is deterministic: with goroutines, scheduling alone makes inputs
// look new and the fuzzer spends its time minimising them.

// niftiSeeds returns seed inputs: the decompressed first bytes of the real
// files (their headers), and small complete synthetic files.
func niftiSeeds(f *testing.F, headerOnly bool) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"example_ct.nii.gz", "example_seg_dicom.nii.gz", "example_ct_sm.nii.gz"} {
		file, err := os.Open(filepath.Join(realDir, name))
		if err != nil {
			continue // the real fixtures are optional for fuzzing
		}
		zr, err := gzip.NewReader(file)
		if err != nil {
			f.Fatal(err)
		}
		b := make([]byte, 4096)
		n, err := io.ReadFull(zr, b)
		if err != nil {
			f.Fatal(err)
		}
		file.Close()
		seeds = append(seeds, b[:n])
		if !headerOnly {
			raw, err := os.ReadFile(filepath.Join(realDir, name))
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, raw[:min(len(raw), 4096)])
		}
	}
	pix := [8]float64{-1, 1, 2, 3}
	for _, s := range []synthNIfTI{
		{dt: dtInt16, dim: [8]int64{3, 4, 3, 2}, pixdim: pix, qformCode: 1, quatern: [3]float64{0, 0, 1}, data: make([]int16, 24)},
		{version: 2, dt: dtFloat32, dim: [8]int64{4, 2, 2, 2, 2}, pixdim: pix, sformCode: 1,
			srow: [3][4]float64{{1, 0, 0, 1}, {0, 2, 0, 2}, {0, 0, 3, 3}}, data: make([]float32, 16)},
		{dt: dtUint8, dim: [8]int64{3, 2, 2, 2}, pixdim: pix, slope: 2, inter: 1, data: make([]uint8, 8)},
	} {
		b := s.bytes(f)
		seeds = append(seeds, b)
		if !headerOnly {
			seeds = append(seeds, gzipBytes(f, b))
		}
	}
	return seeds
}

// FuzzReadNIfTIHeader checks that no header, however hostile, makes the
// header parser panic, and that every header it accepts describes a
// readable grid.
func FuzzReadNIfTIHeader(f *testing.F) {
	for _, s := range niftiSeeds(f, true) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		h, err := parseNIfTIHeader(b)
		if err != nil {
			return
		}
		if err := CheckDims(h.Grid.Dims); err != nil {
			t.Fatalf("accepted dims: %v", err)
		}
		if _, err := h.Grid.Affine.Inverse(); err != nil {
			t.Fatalf("accepted a singular affine %v", h.Grid.Affine)
		}
		if h.VoxOffset < nifti1HeaderSize+4 || h.Frames < 1 || h.frameBytes() <= 0 {
			t.Fatalf("vox_offset %d, frames %d, frame bytes %d", h.VoxOffset, h.Frames, h.frameBytes())
		}
		if h.SclSlope == 0 || math.IsNaN(h.SclSlope) || math.IsNaN(h.SclInter) {
			t.Fatalf("scaling %g, %g", h.SclSlope, h.SclInter)
		}
	})
}

// FuzzReadNIfTI checks that reading any file, compressed or not, as a
// scan or as labels, either fails or returns a consistent volume, and never
// panics.
func FuzzReadNIfTI(f *testing.F) {
	for _, s := range niftiSeeds(f, false) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		path := filepath.Join(t.TempDir(), "fuzz.nii")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := ReadNIfTIHeader(path)
		if err != nil || h.frameBytes() > streamChunk {
			return
		}
		if v, err := ReadNIfTI(path); err == nil {
			if v.Dims != h.Grid.Dims || len(v.Data) != v.Len() {
				t.Fatalf("dims %v with %d voxels, header said %v", v.Dims, len(v.Data), h.Grid.Dims)
			}
		}
		if l, err := ReadLabelsNIfTI(path); err == nil && len(l.Data) != l.Len() {
			t.Fatalf("labels: %d voxels for dims %v", len(l.Data), l.Dims)
		}
	})
}
