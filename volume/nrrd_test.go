package volume

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const nrrdTestdata = "testdata/nrrd"

// TestReadNRRDFixtures reads pynrrd's test files (testdata/nrrd/README.md):
// one 30³ int16 ball stored attached and gzip, detached raw, with line
// skip, and with byte skip -1, all of which must give the voxels of the raw
// file read directly, on the LPS identity grid (RAS diagonal -1, -1, 1).
func TestReadNRRDFixtures(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(nrrdTestdata, "BallBinary30x30x30.raw"))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(raw)/2)
	for i := range want {
		want[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:])))
	}
	wantAffine := Affine{{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	for _, name := range []string{
		"BallBinary30x30x30_gz.nrrd",
		"BallBinary30x30x30.nhdr",
		"BallBinary30x30x30_gz_lineskip.nrrd",
		"BallBinary30x30x30_byteskip_minus_one.nhdr",
	} {
		t.Run(name, func(t *testing.T) {
			v, err := ReadNRRD(filepath.Join(nrrdTestdata, name))
			if err != nil {
				t.Fatal(err)
			}
			if v.Dims != [3]int{30, 30, 30} || !affineClose(v.Affine, wantAffine, 0) || len(v.Warnings) != 0 {
				t.Errorf("dims %v affine %v warnings %q", v.Dims, v.Affine, v.Warnings)
			}
			for i := range want {
				if v.Data[i] != want[i] {
					t.Fatalf("voxel %d = %g, want %g", i, v.Data[i], want[i])
				}
			}
		})
	}

	_, err = ReadNRRD(filepath.Join(nrrdTestdata, "BallBinary30x30x30_bz2.nrrd"))
	if !errors.Is(err, ErrNRRDUnsupported) || !strings.Contains(err.Error(), "BallBinary30x30x30_bz2.nrrd") || !strings.Contains(err.Error(), "bzip2") {
		t.Errorf("bzip2: %v, want an unsupported-encoding error naming the file", err)
	}

	// A 4D file whose last axis is a list of one double.
	v, err := ReadNRRD(filepath.Join(nrrdTestdata, "test_simple4d_raw.nrrd"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Dims != [3]int{1, 1, 1} || v.Spacing() != [3]float64{1.5, 1.5, 1} || math.Abs(float64(v.Data[0])-0.76903427) > 1e-6 {
		t.Errorf("4D: dims %v spacing %v value %g", v.Dims, v.Spacing(), v.Data[0])
	}
}

// TestNRRDValues reads every scalar type in both byte orders, raw, gzip and
// ascii, against the values the test encoded itself.
func TestNRRDValues(t *testing.T) {
	dir := t.TempDir()
	types := []struct {
		name, nrrd string
		vals       []float64
	}{
		{"int8", "signed char", []float64{-128, -1, 0, 1, 127, 5, 6, 7}},
		{"uint8", "uchar", []float64{0, 1, 2, 255, 128, 5, 6, 7}},
		{"int16", "short", []float64{-32768, -1000, 0, 40, 32767, 5, 6, 7}},
		{"uint16", "unsigned short", []float64{0, 1, 65535, 300, 4, 5, 6, 7}},
		{"int32", "int", []float64{-2147483648, -1, 0, 1 << 24, 2147483647, 5, 6, 7}},
		{"uint32", "uint32_t", []float64{0, 1, 4294967295, 3, 4, 5, 6, 7}},
		{"int64", "long long", []float64{-1 << 40, -1, 0, 1 << 40, 4, 5, 6, 7}},
		{"uint64", "unsigned long long int", []float64{0, 1, 1 << 50, 3, 4, 5, 6, 7}},
		{"float32", "float", []float64{-1024.5, 0.25, 0, 1e30, -3, 5, 6, 7}},
		{"float64", "double", []float64{-1024.5, 0.125, 0, 1e300, -3, 5, 6, 7}},
	}
	var paths []string
	var wants [][]float64
	for _, ty := range types {
		for _, enc := range []string{"raw", "gzip", "ascii"} {
			for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
				if enc == "ascii" && order == binary.BigEndian {
					continue
				}
				endian := "little"
				if order == binary.BigEndian {
					endian = "big"
				}
				s := synthNRRD{typ: ty.name, order: order, encoding: enc, values: ty.vals, lines: []string{
					"type: " + ty.nrrd, "dimension: 3", "space: left-posterior-superior", "sizes: 2 2 2",
					"space directions: (1,0,0) (0,1,0) (0,0,1)", "kinds: domain domain domain",
					"endian: " + endian, "encoding: " + enc, "space origin: (0,0,0)",
				}}
				name := fmt.Sprintf("%s_%s_%s.nrrd", ty.name, enc, endian)
				path := writeFile(t, filepath.Join(dir, name), s.bytes(t))
				paths = append(paths, path)
				wants = append(wants, ty.vals)
				t.Run(name, func(t *testing.T) {
					v, err := ReadNRRD(path)
					if err != nil {
						t.Fatal(err)
					}
					for i, w := range ty.vals {
						if v.Data[i] != float32(w) {
							t.Errorf("value %d = %g, want %g", i, v.Data[i], float32(w))
						}
					}
				})
			}
		}
	}
	// ITK reads the same files to the same values.
	t.Run("ITK", func(t *testing.T) {
		for n, m := range readWithITK(t, paths...) {
			if m.Error != "" {
				t.Errorf("%s: ITK: %s", filepath.Base(paths[n]), m.Error)
				continue
			}
			for i, w := range wants[n] {
				if m.Values[i] != w && float32(m.Values[i]) != float32(w) {
					t.Errorf("%s: ITK value %d = %g, the test wrote %g", filepath.Base(paths[n]), i, m.Values[i], w)
				}
			}
		}
	})
}

// TestNRRDSpaces places one grid in each space the format names and checks
// a voxel's RAS+ position, worked out by hand, and that ITK (3D Slicer's
// reader) places it at the same point.
func TestNRRDSpaces(t *testing.T) {
	dir := t.TempDir()
	// Axis i along the space's first axis (2 mm), j along a tilted
	// second and third (3 mm), k along the third (4 mm); origin
	// (10, 20, 30) in the space's coordinates. Voxel (1, 1, 1) lies at
	// origin + d_i + d_j + d_k = (12, 20+3·0.6+0, 30+3·0.8+4) in the
	// space's coordinates.
	dirs := "space directions: (2,0,0) (0,1.7999999999999998,2.4000000000000004) (0,0,4)"
	p := [3]float64{12, 21.8, 36.4}
	tests := []struct {
		space string
		want  [3]float64 // RAS+
		warn  bool
	}{
		{"right-anterior-superior", [3]float64{p[0], p[1], p[2]}, false},
		{"RAS", [3]float64{p[0], p[1], p[2]}, false},
		{"left-anterior-superior", [3]float64{-p[0], p[1], p[2]}, false},
		{"left-posterior-superior", [3]float64{-p[0], -p[1], p[2]}, false},
		{"LPS", [3]float64{-p[0], -p[1], p[2]}, false},
		{"scanner-xyz", [3]float64{-p[0], -p[1], p[2]}, true},
		{"3D-right-handed", [3]float64{-p[0], -p[1], p[2]}, true},
	}
	var paths []string
	for _, tt := range tests {
		s := synthNRRD{typ: "uint8", encoding: "raw", values: make([]float64, 8), lines: []string{
			"type: uint8", "dimension: 3", "space: " + tt.space, "sizes: 2 2 2", dirs,
			"kinds: domain domain domain", "encoding: raw", "space origin: (10,20,30)",
			"measurement frame: (1,0,0) (0,1,0) (0,0,1)",
		}}
		path := writeFile(t, filepath.Join(dir, tt.space+".nrrd"), s.bytes(t))
		paths = append(paths, path)
		t.Run(tt.space, func(t *testing.T) {
			h, err := ReadNRRDHeader(path)
			if err != nil {
				t.Fatal(err)
			}
			x, y, z := h.Grid.Affine.Apply(1, 1, 1)
			if got := [3]float64{x, y, z}; !close3(got, tt.want, 1e-9) {
				t.Errorf("voxel (1,1,1) at %v, want %v", got, tt.want)
			}
			if (len(h.Warnings) > 0) != tt.warn {
				t.Errorf("warnings %q, want some: %v", h.Warnings, tt.warn)
			}
		})
	}
	t.Run("ITK", func(t *testing.T) {
		for n, m := range readWithITK(t, paths...) {
			if tests[n].space == "left-anterior-superior" {
				// ITK (itk-wasm 1.6.1) negates x instead of y to go from
				// LAS to its LPS, placing this voxel at (12, -21.8,
				// 36.4) RAS: against the specification (x towards the
				// left, y towards anterior) and against 3D Slicer's own
				// vtkTeemNRRDReader, which negates x to reach RAS, as
				// this reader does.
				continue
			}
			h, err := ReadNRRDHeader(paths[n])
			if err != nil {
				t.Fatal(err)
			}
			if m.Error != "" || !affineClose(m.affineRAS(), h.Grid.Affine, 1e-9) {
				t.Errorf("%s: ITK's grid %v (%s), ours %v", tests[n].space, m.affineRAS(), m.Error, h.Grid.Affine)
			}
		}
	})

	// Without a space: spacings along LPS axes, as ITK reads it.
	s := synthNRRD{typ: "uint8", encoding: "raw", values: make([]float64, 8), lines: []string{
		"type: uint8", "dimension: 3", "sizes: 2 2 2", "spacings: 1 2 3", "encoding: raw"}}
	path := writeFile(t, filepath.Join(dir, "nospace.nrrd"), s.bytes(t))
	h, err := ReadNRRDHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Affine{{-1, 0, 0, 0}, {0, -2, 0, 0}, {0, 0, 3, 0}, {0, 0, 0, 1}}); !affineClose(h.Grid.Affine, want, 0) || len(h.Warnings) != 1 {
		t.Errorf("no space: affine %v warnings %q", h.Grid.Affine, h.Warnings)
	}
}

func close3(a, b [3]float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// TestNRRDBadInput: each hostile or broken file is refused with an error
// naming the file and the field, before anything large is allocated.
func TestNRRDBadInput(t *testing.T) {
	dir := t.TempDir()
	base := []string{"type: short", "dimension: 3", "space: left-posterior-superior", "sizes: 2 2 2",
		"space directions: (1,0,0) (0,1,0) (0,0,1)", "kinds: domain domain domain", "endian: little",
		"encoding: raw", "space origin: (0,0,0)"}
	with := func(field, value string) []string {
		out := append([]string(nil), base...)
		for i, l := range out {
			if strings.HasPrefix(l, field+":") {
				if value == "" {
					return append(out[:i], out[i+1:]...)
				}
				out[i] = field + ": " + value
				return out
			}
		}
		return append(out, field+": "+value)
	}
	tests := []struct {
		name   string
		file   []byte
		is     error
		substr string
	}{
		{"not nrrd", []byte("P5\n2 2\n255\n...."), ErrNRRDFormat, "no NRRD magic"},
		{"empty", nil, io.ErrUnexpectedEOF, "empty"},
		{"future version", []byte("NRRD0009\ntype: short\n\n"), ErrNRRDUnsupported, "NRRD0009"},
		{"no type", synthNRRD{lines: with("type", ""), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, `"type"`},
		{"bad type", synthNRRD{lines: with("type", "complex"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, "complex"},
		{"no endian", synthNRRD{lines: with("endian", ""), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, `"endian"`},
		{"sizes count", synthNRRD{lines: with("sizes", "2 2"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, `"sizes"`},
		{"zero size", synthNRRD{lines: with("sizes", "2 0 2"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, `"sizes"`},
		{"huge", synthNRRD{lines: with("sizes", "100000 100000 100000"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, "limit"},
		{"overflow", synthNRRD{lines: with("sizes", "2147483648 2147483648 2147483648"), typ: "int16"}.bytes(t), ErrNRRDFormat, `"sizes"`},
		{"2D", synthNRRD{lines: append(with("dimension", "2"), "sizes: 2 2"), typ: "int16"}.bytes(t), ErrNRRDFormat, ""},
		{"singular", synthNRRD{lines: with("space directions", "(1,0,0) (2,0,0) (0,0,1)"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, "singular"},
		{"nan direction", synthNRRD{lines: with("space directions", "(nan,0,0) (0,1,0) (0,0,1)"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, `"space directions"`},
		{"bad origin", synthNRRD{lines: with("space origin", "(1,2)"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, `"space origin"`},
		{"unknown space", synthNRRD{lines: with("space", "posterior-left"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, `"space"`},
		{"directions count", synthNRRD{lines: with("space directions", "(1,0,0) (0,1,0)"), typ: "int16", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, `"space directions"`},
		{"hex", synthNRRD{lines: with("encoding", "hex"), typ: "int16"}.bytes(t), ErrNRRDUnsupported, "hex"},
		{"duplicate field", synthNRRD{lines: append(with("encoding", "raw"), "type: float"), typ: "int16"}.bytes(t), ErrNRRDFormat, "twice"},
		{"garbage line", synthNRRD{lines: append(with("encoding", "raw"), "what is this"), typ: "int16"}.bytes(t), ErrNRRDFormat, "what is this"},
		{"list of files", synthNRRD{lines: with("data file", "LIST"), typ: "int16"}.bytes(t), ErrNRRDUnsupported, "LIST"},
		{"short raw", synthNRRD{lines: base, typ: "int16", values: make([]float64, 7)}.bytes(t), io.ErrUnexpectedEOF, "needs 16"},
		{"short gzip", synthNRRD{lines: with("encoding", "gzip"), typ: "int16", encoding: "gzip", values: make([]float64, 7)}.bytes(t), io.ErrUnexpectedEOF, "ends early"},
		{"gzip claims too much", synthNRRD{lines: append(with("encoding", "gzip"), "sizes: 1000 1000 1000")[0:], typ: "int16", encoding: "gzip", values: make([]float64, 8)}.bytes(t), nil, ""},
		{"short text", synthNRRD{lines: with("encoding", "ascii"), typ: "int16", encoding: "ascii", values: []float64{1, 2, 3, 4, 5, 6, 7}}.bytes(t), io.ErrUnexpectedEOF, ""},
		{"bad text", append(synthNRRD{lines: with("encoding", "ascii"), typ: "int16"}.bytes(t), []byte("1 2 3 x 5 6 7 8\n")...), nil, `"x" is not a number`},
		{"no blank line", []byte("NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: raw\nendian: little\n"), io.ErrUnexpectedEOF, "ends inside the header"},
		{"detached data missing", []byte("NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: raw\nendian: little\ndata file: nowhere.raw\n"), os.ErrNotExist, "nowhere.raw"},
		{"4D no kinds", synthNRRD{lines: []string{"type: uint8", "dimension: 4", "sizes: 2 2 2 2", "encoding: raw"}, typ: "uint8", values: make([]float64, 16)}.bytes(t), ErrNRRDUnsupported, "which axis"},
		{"bad layer", synthNRRD{lines: append(with("type", "uchar"), "Segment0_ID:=a", "Segment0_Layer:=3"), typ: "uint8", values: make([]float64, 8)}.bytes(t), ErrNRRDFormat, "Segment0_Layer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".nrrd"), tt.file)
			_, err := ReadNRRD(path)
			if tt.name == "bad layer" {
				_, err = ReadLabelsNRRD(path)
			}
			if err == nil {
				t.Fatal("read without error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v: not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("%v: want the file's name and %q", err, tt.substr)
			}
		})
	}
}

// TestNRRDRoundTrip writes scans and reads them back, attached and
// detached, and has ITK read what was written: the geometry in world
// coordinates and the voxels must agree.
func TestNRRDRoundTrip(t *testing.T) {
	dir := t.TempDir()
	// An oblique LAS-like grid, int16 values, and a float one.
	g := Grid{Dims: [3]int{5, 4, 3}, Affine: Affine{
		{-0.7, 0.05, 0, 120.5}, {0.04, 0.69, 0.1, -30.25}, {0, -0.08, 2.5, -800}, {0, 0, 0, 1}}}
	ints := &Volume{Grid: g, Data: make([]float32, g.Len())}
	floats := &Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range ints.Data {
		ints.Data[i] = float32(i*37%4000 - 1024)
		floats.Data[i] = float32(i)*0.25 - 3
	}
	var paths []string
	var vols []*Volume
	for _, tt := range []struct {
		name string
		v    *Volume
	}{{"ints.nrrd", ints}, {"floats.nrrd", floats}, {"ints.nhdr", ints}} {
		path := filepath.Join(dir, tt.name)
		if err := WriteNRRD(path, tt.v); err != nil {
			t.Fatal(err)
		}
		got, err := ReadNRRD(path)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Grid.Equal(g, 1e-12) || len(got.Warnings) != 0 {
			t.Errorf("%s: grid %v, want %v; warnings %q", tt.name, got.Grid, g, got.Warnings)
		}
		for i := range tt.v.Data {
			if got.Data[i] != tt.v.Data[i] {
				t.Fatalf("%s: voxel %d = %g, want %g", tt.name, i, got.Data[i], tt.v.Data[i])
			}
		}
		paths, vols = append(paths, path), append(vols, tt.v)
	}
	if _, err := os.Stat(filepath.Join(dir, "ints.raw.gz")); err != nil {
		t.Errorf("detached data file: %v", err)
	}
	t.Run("ITK", func(t *testing.T) {
		for n, m := range readWithITK(t, paths...) {
			if m.Error != "" {
				t.Fatalf("%s: %s", paths[n], m.Error)
			}
			if !affineClose(m.affineRAS(), g.Affine, 1e-9) {
				t.Errorf("%s: ITK places it at %v, want %v", paths[n], m.affineRAS(), g.Affine)
			}
			for i, x := range vols[n].Data {
				if float32(m.Values[i]) != x {
					t.Fatalf("%s: ITK voxel %d = %g, want %g", paths[n], i, m.Values[i], x)
				}
			}
		}
	})
}
