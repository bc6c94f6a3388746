package volume

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadNIfTIReal(t *testing.T) {
	// Expected values as nibabel reports them (aff2axcodes, affine,
	// get_fdata().min()/max()).
	ctAffine := Affine{{3, 0, 0, -177.95632934570312}, {0, 3, 0, 11.319000244140625}, {0, 0, 3, 94.3017578125}, {0, 0, 0, 1}}
	tests := []struct {
		file     string
		dims     [3]int
		codes    string
		affine   Affine
		datatype int
		lo, hi   float32
	}{
		{"example_ct.nii.gz", [3]int{122, 101, 112}, "RAS", ctAffine, dtInt32, -1207, 3382},
		{"example_ct_sm.nii.gz", [3]int{122, 101, 30}, "RAS", ctAffine, dtInt16, -1100, 1207},
		{"example_seg_fast_force_split.nii.gz", [3]int{122, 101, 112}, "RAS", ctAffine, dtUint8, 0, 117},
		{"example_seg_dicom.nii.gz", [3]int{512, 512, 20}, "LAS",
			Affine{{-0.9765625, 0, 0, 249.51171875}, {0, 0.9765625, 0, -61.51171875}, {0, 0, 2, -804.5}, {0, 0, 0, 1}}, dtUint8, 0, 117},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := realFile(t, tt.file)
			h, err := ReadNIfTIHeader(path)
			if err != nil {
				t.Fatal(err)
			}
			if h.Grid.Dims != tt.dims || h.Datatype != tt.datatype || !h.Compressed || h.Version != 1 {
				t.Errorf("header: dims %v datatype %d compressed %v version %d, want %v %d true 1",
					h.Grid.Dims, h.Datatype, h.Compressed, h.Version, tt.dims, tt.datatype)
			}
			v, err := ReadNIfTI(path)
			if err != nil {
				t.Fatal(err)
			}
			if v.Dims != tt.dims {
				t.Errorf("dims %v, want %v", v.Dims, tt.dims)
			}
			if got := v.Affine.AxisCodes(); got != tt.codes {
				t.Errorf("orientation %s, want %s", got, tt.codes)
			}
			if !affineClose(v.Affine, tt.affine, 1e-6) {
				t.Errorf("affine %v, want %v", v.Affine, tt.affine)
			}
			if lo, hi := v.Range(); lo != tt.lo || hi != tt.hi {
				t.Errorf("range %g..%g, want %g..%g", lo, hi, tt.lo, tt.hi)
			}
			if v.Meta.SformCode != 2 || v.Source != path || len(v.Warnings) != 0 {
				t.Errorf("sform code %d, source %q, warnings %q", v.Meta.SformCode, v.Source, v.Warnings)
			}
		})
	}
}

// TestLiverHU checks that the scan and its labels line up in space: the
// mean HU inside the liver label of a non-contrast CT is about 46. The same
// measurement with the labels flipped along any axis must fall outside the
// accepted range, or the test could not catch a flipped reader.
func TestLiverHU(t *testing.T) {
	ct, err := ReadNIfTI(realFile(t, "example_ct.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	seg, warnings, err := LoadLabels(realFile(t, "example_seg_fast_force_split.nii.gz"), ct.Grid)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("labels on the scan's own grid gave warnings %q", warnings)
	}
	const liver = 5
	meanHU := func(flip int) float64 {
		var sum float64
		var n int
		d := ct.Dims
		for k := range d[2] {
			for j := range d[1] {
				for i := range d[0] {
					p := [3]int{i, j, k}
					if flip >= 0 {
						p[flip] = d[flip] - 1 - p[flip]
					}
					if seg.At(p[0], p[1], p[2]) == liver {
						sum += float64(ct.At(i, j, k))
						n++
					}
				}
			}
		}
		if n == 0 {
			t.Fatal("no liver voxels")
		}
		return sum / float64(n)
	}
	inRange := func(hu float64) bool { return hu >= 20 && hu <= 80 }
	if hu := meanHU(-1); !inRange(hu) {
		t.Errorf("mean liver HU %.1f, want 20..80 (measured 46±13)", hu)
	}
	for axis := range 3 {
		if hu := meanHU(axis); inRange(hu) {
			t.Errorf("negative control: labels flipped along axis %d still give a liver-like %.1f HU", axis, hu)
		}
	}
}

func TestReadNIfTIDatatypes(t *testing.T) {
	dim := [8]int64{3, 3, 2, 2, 1, 1, 1, 1}
	pix := [8]float64{1, 2, 2, 2}
	tests := []struct {
		name  string
		dt    int16
		data  any
		slope float64
		inter float64
		want  []float32
	}{
		{"uint8", dtUint8, []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}, 0, 0,
			[]float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}},
		{"int8", dtInt8, []int8{-128, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 127}, 0, 0,
			[]float32{-128, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 127}},
		{"int16 scaled", dtInt16, []int16{-1024, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 32767}, 1, -1024,
			[]float32{-2048, -1025, -1024, -1023, -1022, -1021, -1020, -1019, -1018, -1017, -1016, 31743}},
		{"uint16 slope", dtUint16, []uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 65535}, 0.5, 0,
			[]float32{0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 32767.5}},
		{"int32", dtInt32, []int32{-1207, 3382, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0, 0,
			[]float32{-1207, 3382, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"uint32", dtUint32, []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1 << 24}, 0, 0,
			[]float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1 << 24}},
		{"int64", dtInt64, []int64{-5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0, 0,
			[]float32{-5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{"uint64", dtUint64, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 2, 1,
			[]float32{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}},
		{"float32", dtFloat32, []float32{-1.5, 0.25, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1e6}, 0, 0,
			[]float32{-1.5, 0.25, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1e6}},
		{"float64 NaN slope", dtFloat64, []float64{-1.5, 0.25, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, math.NaN(), 7,
			[]float32{-1.5, 0.25, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	}
	for _, tt := range tests {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			for _, version := range []int{1, 2} {
				for _, gz := range []bool{false, true} {
					name := tt.name + "/" + order.String() + "/v" + string(rune('0'+version))
					if gz {
						name += "/gz"
					}
					t.Run(name, func(t *testing.T) {
						b := synthNIfTI{version: version, order: order, dt: tt.dt, dim: dim, pixdim: pix,
							slope: tt.slope, inter: tt.inter, data: tt.data}.bytes(t)
						file := "x.nii"
						if gz {
							b, file = gzipBytes(t, b), "x.nii.gz"
						}
						v, err := ReadNIfTI(writeTemp(t, file, b))
						if err != nil {
							t.Fatal(err)
						}
						for i, w := range tt.want {
							if v.Data[i] != w {
								t.Fatalf("voxel %d = %g, want %g (all: %v)", i, v.Data[i], w, v.Data)
							}
						}
						if v.Dims != [3]int{3, 2, 2} || v.Spacing() != [3]float64{2, 2, 2} {
							t.Errorf("dims %v spacing %v", v.Dims, v.Spacing())
						}
						if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "pixdim") {
							t.Errorf("want one warning about the affine taken from pixdim, got %q", v.Warnings)
						}
					})
				}
			}
		}
	}
}

// TestNIfTIAffinePrecedence checks sform over qform over pixdim, and the
// qform of a quaternion with a = 0, which gonii gets wrong.
func TestNIfTIAffinePrecedence(t *testing.T) {
	srow := [3][4]float64{{0, 0, 2, 10}, {0, 3, 0, 20}, {-1, 0, 0, 30}}
	// b=0, c=0, d=1: 180° about z, LPS; qfac -1 flips k.
	lps := Affine{{-1, 0, 0, 5}, {0, -2, 0, 6}, {0, 0, -3, 7}, {0, 0, 0, 1}}
	tests := []struct {
		name         string
		qcode, scode int
		want         Affine
		warn         string
	}{
		{"sform wins", 1, 2, Affine{{0, 0, 2, 10}, {0, 3, 0, 20}, {-1, 0, 0, 30}, {0, 0, 0, 1}}, ""},
		{"qform a=0", 1, 0, lps, ""},
		{"pixdim", 0, 0, Affine{{1, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 3, 0}, {0, 0, 0, 1}}, "pixdim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := synthNIfTI{dt: dtUint8, dim: [8]int64{3, 2, 2, 2}, pixdim: [8]float64{-1, 1, 2, 3},
				qformCode: tt.qcode, sformCode: tt.scode, quatern: [3]float64{0, 0, 1}, qoffset: [3]float64{5, 6, 7},
				srow: srow, data: make([]uint8, 8)}.bytes(t)
			h, err := parseNIfTIHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			if !affineClose(h.Grid.Affine, tt.want, 1e-12) {
				t.Errorf("affine %v, want %v", h.Grid.Affine, tt.want)
			}
			if !affineClose(h.Meta.Qform, lps, 1e-12) {
				t.Errorf("Meta.Qform %v, want %v", h.Meta.Qform, lps)
			}
			joined := strings.Join(h.Warnings, "; ")
			if (tt.warn == "") != (joined == "") || !strings.Contains(joined, tt.warn) {
				t.Errorf("warnings %q, want one mentioning %q", joined, tt.warn)
			}
		})
	}
}

func TestQuaternRoundTrip(t *testing.T) {
	rot := func(axis int, deg float64) Affine {
		c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
		a := Identity()
		i, j := (axis+1)%3, (axis+2)%3
		a[i][i], a[i][j], a[j][i], a[j][j] = c, -s, s, c
		return a
	}
	scale := Affine{{0.7, 0, 0, 0}, {0, 0.8, 0, 0}, {0, 0, 2.5, 0}, {0, 0, 0, 1}}
	flipK := Affine{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, -1, 0}, {0, 0, 0, 1}}
	lpsToRAS := Affine{{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	tests := []struct {
		name string
		a    Affine
		tol  float64 // of the rotation stored as float32; 0 means 2e-6
	}{
		{"identity", Identity(), 0},
		{"LPS (a=0)", lpsToRAS.Mul(scale), 0},
		{"LAS (qfac -1)", Affine{{-1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}.Mul(scale), 0},
		{"180 about x", rot(0, 180).Mul(scale), 0},
		{"180 about y", rot(1, 180).Mul(scale), 0},
		{"oblique", rot(0, 17).Mul(rot(2, -133)).Mul(scale), 0},
		{"oblique flipped", rot(1, 95).Mul(rot(0, 170)).Mul(flipK).Mul(scale), 0},
		{"permuted", Affine{{0, 0, 2.5, 0}, {0.7, 0, 0, 0}, {0, -0.8, 0, 0}, {0, 0, 0, 1}}, 0},
		{"LPS tilted (a=0)", Affine{{-1, 0, 0, 0}, {0, -math.Cos(0.15), math.Sin(0.15), 0}, {0, math.Sin(0.15), math.Cos(0.15), 0}, {0, 0, 0, 1}}.Mul(scale), 0},
		// a = 9e-4 cannot be stored closer than float32 allows: b, c, d
		// near 0 or 1 move a² only in steps of 1.2e-7.
		{"near 180 about z", rot(2, 179.9).Mul(scale), 1e-4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a[0][3], a[1][3], a[2][3] = -100, 20.5, 300
			b, c, d, qfac, zoom, off, ok := affineToQuatern(a)
			if !ok {
				t.Fatal("not converted")
			}
			if got := quaternToAffine(b, c, d, qfac, zoom, off); !affineClose(got, a, 1e-9) {
				t.Errorf("round trip %v, want %v (b c d qfac = %g %g %g %g)", got, a, b, c, d, qfac)
			}
			// Stored as float32, the rotation must survive both the
			// nifti1_io and the nibabel way of recovering a.
			unit, zero := [3]float64{1, 1, 1}, [3]float64{}
			want := quaternToAffine(b, c, d, 1, unit, zero)
			tol := tt.tol
			if tol == 0 {
				tol = 2e-6
			}
			fb, fc, fd := float32Quatern(b, c, d)
			if got := quaternToAffine(fb, fc, fd, 1, unit, zero); !affineClose(got, want, tol) {
				t.Errorf("float32 quaternion, nifti1_io: %v, want %v", got, want)
			}
			got, ok := nibabelQuatern(float32(fb), float32(fc), float32(fd))
			if !ok || !affineClose(got, want, tol) {
				t.Errorf("float32 quaternion, nibabel: %v (ok %v), want %v", got, ok, want)
			}
		})
	}
	if _, _, _, _, _, _, ok := affineToQuatern(Affine{{1, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}); ok {
		t.Error("a singular affine converted")
	}
}

func TestReadNIfTIBadInput(t *testing.T) {
	good := synthNIfTI{dt: dtInt16, dim: [8]int64{3, 4, 4, 4}, pixdim: [8]float64{1, 1, 1, 1},
		data: make([]int16, 64)}
	goodBytes := good.bytes(t)
	with := func(f func(s *synthNIfTI)) []byte {
		s := good
		f(&s)
		return s.bytes(t)
	}
	huge := with(func(s *synthNIfTI) { s.version = 2; s.dim = [8]int64{3, 10000, 10000, 10000}; s.data = nil })
	tests := []struct {
		name string
		file string
		b    []byte
		is   error  // the error must wrap this, when set
		msg  string // and mention this
	}{
		{"empty", "x.nii", nil, io.ErrUnexpectedEOF, "empty file"},
		{"text", "x.nii", []byte("this is not a NIfTI file, just some words"), ErrNIfTIFormat, "sizeof_hdr"},
		{"wrong magic", "x.nii", with(func(s *synthNIfTI) { s.magic = "abc" }), ErrNIfTIFormat, "magic"},
		{"hdr/img pair", "x.nii", with(func(s *synthNIfTI) { s.magic = "ni1" }), ErrNIfTIUnsupported, ".hdr/.img"},
		{"header cut", "x.nii", goodBytes[:200], io.ErrUnexpectedEOF, "header ends early, before its 348 bytes"},
		{"data cut", "x.nii", goodBytes[:len(goodBytes)-1], io.ErrUnexpectedEOF, "file is 479 bytes but the header describes 480"},
		{"truncated gz", "x.nii.gz", gzipBytes(t, goodBytes)[:60], io.ErrUnexpectedEOF, "unexpected EOF"},
		{"gz header cut", "x.nii.gz", gzipBytes(t, goodBytes[:200]), io.ErrUnexpectedEOF, "header ends early, before its 348 bytes"},
		{"gz data cut", "x.nii.gz", gzipBytes(t, goodBytes[:len(goodBytes)-10]), io.ErrUnexpectedEOF, "voxel data ends early"},
		{"corrupt gz", "x.nii.gz", append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, goodBytes...), nil, "flate"},
		{"10^12 voxels", "x.nii", huge, ErrNIfTIFormat, "exceed the limit"},
		{"10^12 voxels gz", "x.nii.gz", gzipBytes(t, huge), ErrNIfTIFormat, "exceed the limit"},
		{"more than gz can hold", "x.nii.gz",
			gzipBytes(t, with(func(s *synthNIfTI) { s.dim = [8]int64{3, 1000, 1000, 1000}; s.data = nil })),
			io.ErrUnexpectedEOF, "cannot hold"},
		{"complex", "x.nii", with(func(s *synthNIfTI) { s.dt = 32 }), ErrNIfTIUnsupported, "complex64"},
		{"RGB", "x.nii", with(func(s *synthNIfTI) { s.dt = 128 }), ErrNIfTIUnsupported, "RGB24"},
		{"unknown datatype", "x.nii", with(func(s *synthNIfTI) { s.dt = 3 }), ErrNIfTIFormat, "datatype code 3"},
		{"dim0 zero", "x.nii", with(func(s *synthNIfTI) { s.dim[0] = 0 }), ErrNIfTIFormat, "dim[0]"},
		{"dim0 too big", "x.nii", with(func(s *synthNIfTI) { s.dim[0] = 9 }), ErrNIfTIFormat, "dim[0]"},
		{"negative dim", "x.nii", with(func(s *synthNIfTI) { s.dim[2] = -4 }), ErrNIfTIFormat, "dim[2] is -4"},
		{"vox_offset NaN", "x.nii", with(func(s *synthNIfTI) { s.voxOffset = math.NaN() }), ErrNIfTIFormat, "vox_offset"},
		{"vox_offset fraction", "x.nii", with(func(s *synthNIfTI) { s.voxOffset = 352.5 }), ErrNIfTIFormat, "vox_offset"},
		{"vox_offset past end", "x.nii", with(func(s *synthNIfTI) { s.voxOffset = 1e9 }), io.ErrUnexpectedEOF, "file is"},
		{"frames overflow", "x.nii", with(func(s *synthNIfTI) {
			s.version = 2
			s.dim = [8]int64{7, 1000, 1000, 1000, 1 << 30, 1 << 30, 1 << 30, 1 << 30}
		}), ErrNIfTIFormat, "more data than any file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, tt.file, tt.b)
			for _, read := range []struct {
				name string
				f    func(string) error
			}{
				{"ReadNIfTI", func(p string) error { _, err := ReadNIfTI(p); return err }},
				{"ReadLabelsNIfTI", func(p string) error { _, err := ReadLabelsNIfTI(p); return err }},
			} {
				err := read.f(path)
				if err == nil {
					t.Fatalf("%s: no error", read.name)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("%s: error %q does not name the file", read.name, err)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("%s: error %q does not mention %q", read.name, err, tt.msg)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("%s: error %q does not wrap %v", read.name, err, tt.is)
				}
			}
		})
	}
}

func TestReadNIfTI4D(t *testing.T) {
	data := make([]int16, 2*2*2*3)
	for i := range data {
		data[i] = int16(i)
	}
	b := synthNIfTI{dt: dtInt16, dim: [8]int64{4, 2, 2, 2, 3}, pixdim: [8]float64{1, 1, 1, 1, 1}, data: data}.bytes(t)
	v, err := ReadNIfTI(writeTemp(t, "x.nii", b))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Data) != 8 || v.Data[7] != 7 {
		t.Errorf("first volume %v", v.Data)
	}
	if !strings.Contains(strings.Join(v.Warnings, ";"), "3 volumes") {
		t.Errorf("warnings %q do not mention the 3 volumes", v.Warnings)
	}
}

func TestWriteNIfTIRoundTrip(t *testing.T) {
	g := rasGrid([3]int{5, 4, 3}, [3]float64{0.5, 0.75, 2}, [3]float64{-10, 20, -30})
	// An LPS, oblique grid stores its qform with a = 0 or close to it.
	lps := g
	lps.Affine = Affine{{-0.5, 0, 0, 10}, {0, -0.75 * math.Cos(0.2), 2 * math.Sin(0.2), 5}, {0, 0.75 * math.Sin(0.2), 2 * math.Cos(0.2), 7}, {0, 0, 0, 1}}
	ints := make([]float32, g.Len())
	floats := make([]float32, g.Len())
	for i := range ints {
		ints[i] = float32(i*97%3000 - 1024)
		floats[i] = float32(i) * 0.25
	}
	tests := []struct {
		name string
		grid Grid
		data []float32
		dt   int
	}{
		{"int16 nii", g, ints, dtInt16},
		{"int16 gz", lps, ints, dtInt16},
		{"float32 gz", lps, floats, dtFloat32},
		{"out of int16 range", g, append(append([]float32{}, ints[:59]...), 40000), dtFloat32},
	}
	for _, tt := range tests {
		for _, ext := range []string{".nii", ".nii.gz"} {
			t.Run(tt.name+ext, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "v"+ext)
				if err := WriteNIfTI(path, &Volume{Grid: tt.grid, Data: tt.data}); err != nil {
					t.Fatal(err)
				}
				h, err := ReadNIfTIHeader(path)
				if err != nil {
					t.Fatal(err)
				}
				if h.Datatype != tt.dt || h.Compressed != (ext == ".nii.gz") {
					t.Errorf("datatype %d compressed %v, want %d %v", h.Datatype, h.Compressed, tt.dt, ext == ".nii.gz")
				}
				if h.Meta.QformCode != 1 || h.Meta.SformCode != 1 {
					t.Errorf("qform/sform codes %d/%d, want 1/1", h.Meta.QformCode, h.Meta.SformCode)
				}
				if !affineClose(h.Meta.Qform, tt.grid.Affine, 1e-5) || !affineClose(h.Meta.Sform, tt.grid.Affine, 1e-5) {
					t.Errorf("qform %v sform %v, want %v", h.Meta.Qform, h.Meta.Sform, tt.grid.Affine)
				}
				v, err := ReadNIfTI(path)
				if err != nil {
					t.Fatal(err)
				}
				for i := range tt.data {
					if v.Data[i] != tt.data[i] {
						t.Fatalf("voxel %d = %g, want %g", i, v.Data[i], tt.data[i])
					}
				}
			})
		}
	}
}

// TestWriteNIfTIKeepsMeta reads a real scan, writes it and reads it again:
// the header geometry must come back bit for bit.
func TestWriteNIfTIKeepsMeta(t *testing.T) {
	for _, name := range []string{"example_ct_sm.nii.gz", "example_seg_dicom.nii.gz"} {
		t.Run(name, func(t *testing.T) {
			v, err := ReadNIfTI(realFile(t, name))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "out.nii.gz")
			if err := WriteNIfTI(path, v); err != nil {
				t.Fatal(err)
			}
			w, err := ReadNIfTI(path)
			if err != nil {
				t.Fatal(err)
			}
			if w.Affine != v.Affine || w.Meta.Sform != v.Meta.Sform || w.Meta.SformCode != v.Meta.SformCode {
				t.Errorf("sform changed: %v code %d, was %v code %d", w.Meta.Sform, w.Meta.SformCode, v.Meta.Sform, v.Meta.SformCode)
			}
			// The original has no qform (code 0); the written one encodes
			// the same affine.
			if w.Meta.QformCode != 1 || !affineClose(w.Meta.Qform, v.Affine, 1e-4) {
				t.Errorf("qform %v code %d, want %v code 1", w.Meta.Qform, w.Meta.QformCode, v.Affine)
			}
			for i := range v.Data {
				if v.Data[i] != w.Data[i] {
					t.Fatalf("voxel %d = %g, want %g", i, w.Data[i], v.Data[i])
				}
			}
			// Written again, a file that has both forms keeps them bit
			// for bit, quaternion included.
			path2 := filepath.Join(t.TempDir(), "again.nii")
			if err := WriteNIfTI(path2, w); err != nil {
				t.Fatal(err)
			}
			w2, err := ReadNIfTI(path2)
			if err != nil {
				t.Fatal(err)
			}
			if w2.Meta != w.Meta {
				t.Errorf("second write changed the header geometry:\n%+v\nwas\n%+v", w2.Meta, w.Meta)
			}
		})
	}
}

func TestWriteNIfTIErrors(t *testing.T) {
	g := rasGrid([3]int{2, 2, 2}, [3]float64{1, 1, 1}, [3]float64{})
	singular := g
	singular.Affine[1][1] = 0
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		v    *Volume
		msg  string
	}{
		{"short data", filepath.Join(dir, "a.nii"), &Volume{Grid: g, Data: make([]float32, 7)}, "7 voxels"},
		{"singular", filepath.Join(dir, "b.nii"), &Volume{Grid: singular, Data: make([]float32, 8)}, "singular"},
		{"no directory", filepath.Join(dir, "missing", "c.nii"), &Volume{Grid: g, Data: make([]float32, 8)}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteNIfTI(tt.path, tt.v)
			if err == nil || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v, want one naming %s and mentioning %q", err, tt.path, tt.msg)
			}
			if _, err := os.Stat(tt.path); err == nil {
				t.Error("a file was written")
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestReadNIfTIParallelGzip covers the pgzip path, taken for compressed
// files over parallelGzipMin: random voxels do not compress, so a 5 MB
// volume makes a 5 MB file.
func TestReadNIfTIParallelGzip(t *testing.T) {
	dim := [8]int64{3, 256, 256, 80}
	data := make([]uint8, 256*256*80)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = uint8(rng.Uint32())
	}
	gz := gzipBytes(t, synthNIfTI{dt: dtUint8, dim: dim, pixdim: [8]float64{1, 1, 1, 1}, data: data}.bytes(t))
	if len(gz) <= parallelGzipMin {
		t.Fatalf("test file of %d bytes does not exercise the parallel path", len(gz))
	}
	badCRC := append([]byte{}, gz...)
	badCRC[len(badCRC)-8] ^= 0xff
	tests := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"whole", gz, ""},
		{"cut in the voxels", gz[:len(gz)-5000], "unexpected EOF"},
		{"trailer missing", gz[:len(gz)-8], "unexpected EOF"},
		{"checksum wrong", badCRC, "checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, "big.nii.gz", tt.b)
			v, err := ReadNIfTI(path)
			if tt.msg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one naming %s and saying %q", err, path, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range data {
				if v.Data[i] != float32(w) {
					t.Fatalf("voxel %d = %g, want %d", i, v.Data[i], w)
				}
			}
		})
	}
}

// TestNIfTIHeaderRegressions holds inputs the fuzzers found, rebuilt as
// readable headers. Their raw forms stay in testdata/fuzz.
func TestNIfTIHeaderRegressions(t *testing.T) {
	tiny := 4.072905671284e-312 // a float64 denormal
	tests := []struct {
		name string
		s    synthNIfTI
		warn string
	}{
		// FuzzReadNIfTIHeader/59fdbae8c930dd9f: denormal voxel sizes made
		// the pixdim affine singular (its determinant underflows to 0).
		{"denormal pixdim", synthNIfTI{version: 2, dt: dtFloat32, dim: [8]int64{3, 2, 2, 2},
			pixdim: [8]float64{1, tiny, tiny, tiny}}, "1 mm was used"},
		{"denormal sform", synthNIfTI{version: 2, dt: dtFloat32, dim: [8]int64{3, 2, 2, 2}, sformCode: 1,
			pixdim: [8]float64{1, 1, 1, 1}, srow: [3][4]float64{{tiny, 0, 0, 0}, {0, tiny, 0, 0}, {0, 0, tiny, 0}}},
			"sform is not a usable affine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseNIfTIHeader(tt.s.bytes(t))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.Grid.Affine.Inverse(); err != nil {
				t.Errorf("affine %v: %v", h.Grid.Affine, err)
			}
			if !strings.Contains(strings.Join(h.Warnings, "; "), tt.warn) {
				t.Errorf("warnings %q, want one saying %q", h.Warnings, tt.warn)
			}
		})
	}
}

func TestReadNIfTIContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		dims [8]int64
	}{
		{"one chunk", [8]int64{3, 8, 8, 8}},
		{"several chunks", [8]int64{3, 256, 256, 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.dims[1] * tt.dims[2] * tt.dims[3]
			b := synthNIfTI{dt: dtUint8, dim: tt.dims, pixdim: [8]float64{1, 1, 1, 1}, data: make([]uint8, n)}.bytes(t)
			path := writeTemp(t, "x.nii", b)
			if _, err := ReadNIfTIContext(ctx, path); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want context.Canceled naming %s", err, path)
			}
			if _, err := ReadNIfTIContext(context.Background(), path); err != nil {
				t.Errorf("without cancellation: %v", err)
			}
		})
	}
}

// TestReadNIfTIFolder checks that a folder given where a NIfTI file is
// expected (a DICOM folder as a label volume) is named as a folder.
func TestReadNIfTIFolder(t *testing.T) {
	dir := t.TempDir()
	for _, read := range []struct {
		name string
		f    func(string) error
	}{
		{"ReadNIfTI", func(p string) error { _, err := ReadNIfTI(p); return err }},
		{"ReadLabelsNIfTI", func(p string) error { _, err := ReadLabelsNIfTI(p); return err }},
	} {
		if err := read.f(dir); err == nil || !strings.Contains(err.Error(), dir+": a folder, not a NIfTI file") {
			t.Errorf("%s(folder): %v, want it named a folder", read.name, err)
		}
	}
}

// TestReadNIfTINonFiniteWarning reads float volumes holding NaN and
// infinities: the reader keeps them and says how many there are.
func TestReadNIfTINonFiniteWarning(t *testing.T) {
	tests := []struct {
		name string
		set  map[int]float32
		want string // in a warning; "" for none
	}{
		{"finite", map[int]float32{3: 1.5}, ""},
		{"NaN and Inf", map[int]float32{0: float32(math.NaN()), 1: float32(math.NaN()), 5: float32(math.Inf(-1))}, "2 voxels are NaN and 1 infinite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Grid{Dims: [3]int{4, 3, 2}, Affine: Identity()}
			v := &Volume{Grid: g, Data: make([]float32, g.Len())}
			for i, x := range tt.set {
				v.Data[i] = x
			}
			path := filepath.Join(t.TempDir(), "f.nii.gz")
			if err := WriteNIfTI(path, v); err != nil {
				t.Fatal(err)
			}
			got, err := ReadNIfTI(path)
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Join(got.Warnings, "; ")
			if tt.want == "" && strings.Contains(warned, "NaN") || !strings.Contains(warned, tt.want) {
				t.Errorf("warnings %q, want %q", warned, tt.want)
			}
			if x := got.Data[0]; tt.want != "" && x == x {
				t.Errorf("voxel 0 read as %v, want NaN kept", x)
			}
		})
	}
}
