package volume

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// patientB is the real DICOM series of the fixtures (20 JPEG 2000 slices).
const patientB = "../../shared/data/real/totalsegmentator/example_ct_dicom"

func needDir(t testing.TB, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("fixture %s absent: %v", dir, err)
	}
}

// needPatientB skips a test that decodes patient B when the fixture is
// absent or this build has no JPEG 2000 decoder (no cgo, or -tags
// nojpeg2000).
func needPatientB(t testing.TB) {
	t.Helper()
	needDir(t, patientB)
	if !jpeg2000Supported {
		t.Skip("built without the JPEG 2000 decoder")
	}
}

// copySeries copies the files of src into a new temporary folder, passing
// each through patch (which may return the bytes unchanged).
func copySeries(t testing.TB, src string, patch func(i int, b []byte) []byte) string {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	for i, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if patch != nil {
			b = patch(i, b)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// setElement rewrites the value of a top-level explicit VR little endian
// element with a 2-byte length, growing or shrinking the file: only group 2
// carries a group length, so this keeps the file valid for other groups.
func setElement(t testing.TB, b []byte, group, elem uint16, vr string, value []byte) []byte {
	t.Helper()
	var hdr [6]byte
	binary.LittleEndian.PutUint16(hdr[0:], group)
	binary.LittleEndian.PutUint16(hdr[2:], elem)
	copy(hdr[4:], vr)
	at := bytes.Index(b, hdr[:])
	if at < 0 {
		t.Fatalf("element (%04x,%04x) not found", group, elem)
	}
	if len(value)%2 == 1 {
		value = append(value, 0)
	}
	old := int(binary.LittleEndian.Uint16(b[at+6:]))
	out := append([]byte(nil), b[:at+6]...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(value)))
	out = append(out, value...)
	return append(out, b[at+8+old:]...)
}

func TestReadDICOMPatientB(t *testing.T) {
	needPatientB(t)
	v, err := ReadDICOM(context.Background(), patientB, DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Dims != [3]int{512, 512, 20} {
		t.Fatalf("dims %v, want 512x512x20", v.Dims)
	}
	// Values as written in the files: PixelSpacing 0.9765625\0.9765625,
	// ImagePositionPatient z from -804.5 to -766.5 in steps of 2 mm, first
	// pixel at LPS (-249.51171875, -437.51171875).
	want := Affine{
		{-0.9765625, 0, 0, 249.51171875},
		{0, -0.9765625, 0, 437.51171875},
		{0, 0, 2, -804.5},
		{0, 0, 0, 1},
	}
	if !v.Grid.Equal(Grid{Dims: v.Dims, Affine: want}, 1e-9) {
		t.Errorf("affine\n%v\nwant\n%v", v.Affine, want)
	}
	if got := v.Affine.AxisCodes(); got != "LPS" {
		t.Errorf("axis codes %s, want LPS (DICOM pixel order)", got)
	}
	if len(v.Warnings) != 0 {
		t.Errorf("warnings %q, want none", v.Warnings)
	}
	q := Grid{Dims: v.Dims, Affine: v.Meta.Qform}
	if v.Meta.QformCode != 1 || v.Meta.SformCode != 1 || v.Meta.Sform != v.Affine || !q.Equal(v.Grid, 1e-9) {
		t.Errorf("meta %+v does not carry the scanner affine", v.Meta)
	}
	// The quaternion of an axial LPS grid: a 180° turn about z (b = c = 0,
	// d = 1), right-handed (qfac 1).
	if m := v.Meta; math.Abs(m.QuaternB) > 1e-9 || math.Abs(m.QuaternC) > 1e-9 || math.Abs(math.Abs(m.QuaternD)-1) > 1e-9 || m.Qfac != 1 {
		t.Errorf("quaternion (%v, %v, %v) qfac %v, want (0, 0, ±1) and 1", m.QuaternB, m.QuaternC, m.QuaternD, m.Qfac)
	}
	lo, hi := v.Range()
	// RescaleIntercept -1024 on 12-bit unsigned samples: air at -1024.
	if lo != -1024 || hi < 1000 || hi > 3071 {
		t.Errorf("HU range %v..%v, want -1024..(1000, 3071]", lo, hi)
	}
}

// TestReadDICOMMatchesDcm2niix converts patient B with dcm2niix and checks
// that every voxel has the same value at the same world position. dcm2niix
// flips the rows (LAS), this reader keeps DICOM's order (LPS), so the voxel
// correspondence comes from the two affines, not from the indices.
func TestReadDICOMMatchesDcm2niix(t *testing.T) {
	needPatientB(t)
	out := runDcm2niix(t, patientB)
	ref, err := ReadNIfTI(out)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ReadDICOM(context.Background(), patientB, DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	compareInWorld(t, v, ref)
}

// runDcm2niix converts dir with dcm2niix into a temporary folder and
// returns the NIfTI file; it skips the test when dcm2niix is absent.
func runDcm2niix(t testing.TB, dir string) string {
	t.Helper()
	bin, err := exec.LookPath("dcm2niix")
	if err != nil {
		t.Skip("dcm2niix not installed")
	}
	tmp := t.TempDir()
	cmd := exec.Command(bin, "-z", "n", "-f", "ref", "-o", tmp, dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dcm2niix: %v\n%s", err, b)
	}
	return filepath.Join(tmp, "ref.nii")
}

// compareInWorld checks that v and ref sample the same world lattice with
// the same values: ref's voxel for v's voxel (i,j,k) is inv(ref)·v·(i,j,k).
func compareInWorld(t *testing.T, v, ref *Volume) {
	t.Helper()
	inv, err := ref.Affine.Inverse()
	if err != nil {
		t.Fatal(err)
	}
	m := inv.Mul(v.Affine)
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			if math.Abs(m[r][c]-math.Round(m[r][c])) > 1e-3 {
				t.Fatalf("voxel grids differ: index map\n%v", m)
			}
		}
	}
	mismatch := 0
	for k := 0; k < v.Dims[2]; k++ {
		for j := 0; j < v.Dims[1]; j++ {
			for i := 0; i < v.Dims[0]; i++ {
				x, y, z := m.Apply(float64(i), float64(j), float64(k))
				ri, rj, rk := int(math.Round(x)), int(math.Round(y)), int(math.Round(z))
				if !ref.Contains(ri, rj, rk) {
					t.Fatalf("voxel (%d,%d,%d) maps outside the reference, to (%d,%d,%d)", i, j, k, ri, rj, rk)
				}
				if a, b := v.At(i, j, k), ref.At(ri, rj, rk); a != b {
					if mismatch++; mismatch <= 5 {
						t.Errorf("voxel (%d,%d,%d) = %v, reference (%d,%d,%d) = %v", i, j, k, a, ri, rj, rk, b)
					}
				}
			}
		}
	}
	if mismatch > 0 {
		t.Errorf("%d voxels differ", mismatch)
	}
}

func TestDICOMTwoSeries(t *testing.T) {
	needPatientB(t)
	const uid2 = "1.2.826.0.1.3680043.99.1"
	dir := copySeries(t, patientB, func(i int, b []byte) []byte {
		if i%2 == 1 {
			b = setElement(t, b, 0x0020, 0x000e, "UI", []byte(uid2))
			b = setElement(t, b, 0x0008, 0x103e, "LO", []byte("odd slices"))
		}
		return b
	})
	ctx := context.Background()
	list, err := ListDICOMSeries(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d series, want 2: %+v", len(list), list)
	}
	_, err = ReadDICOM(ctx, dir, DICOMOptions{})
	if !errors.Is(err, ErrSeveralSeries) {
		t.Fatalf("error %v, want ErrSeveralSeries", err)
	}
	for _, want := range []string{"2 series", uid2, "odd slices", "CT Body 3.0", "10 slices", "UID (none)", "by UID or by index"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	tests := []struct {
		name string
		opt  DICOMOptions
		desc string
	}{
		{"by UID", DICOMOptions{SeriesUID: uid2}, "odd slices"},
		{"by index 1", DICOMOptions{SeriesIndex: 1}, "CT Body 3.0"},
		{"by index 2", DICOMOptions{SeriesIndex: 2}, "odd slices"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ReadDICOM(ctx, dir, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if v.Dims[2] != 10 {
				t.Errorf("%d slices, want 10", v.Dims[2])
			}
			// Every other slice of a 2 mm series: 4 mm apart.
			if sp := v.Spacing(); math.Abs(sp[2]-4) > 1e-9 {
				t.Errorf("slice spacing %v, want 4", sp[2])
			}
		})
	}
	for _, opt := range []DICOMOptions{{SeriesUID: "1.2.3"}, {SeriesIndex: 3}, {SeriesIndex: -1}} {
		if _, err := ReadDICOM(ctx, dir, opt); err == nil || !strings.Contains(err.Error(), uid2) {
			t.Errorf("option %+v: error %v, want one listing the series", opt, err)
		}
	}
}

func TestDICOMErrors(t *testing.T) {
	needDir(t, patientB)
	ctx := context.Background()

	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "README.txt"), []byte("not DICOM"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadDICOM(ctx, empty, DICOMOptions{})
	if !errors.Is(err, ErrNoDICOM) || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), "1 other files skipped") {
		t.Errorf("folder without DICOM: error %v", err)
	}

	jpegLS := copySeries(t, patientB, func(_ int, b []byte) []byte {
		return bytes.Replace(b, []byte("1.2.840.10008.1.2.4.90"), []byte("1.2.840.10008.1.2.4.80"), 1)
	})
	_, err = ReadDICOM(ctx, jpegLS, DICOMOptions{})
	if !errors.Is(err, ErrUnsupportedTransferSyntax) || !strings.Contains(err.Error(), "JPEG-LS") || !strings.Contains(err.Error(), "1.2.840.10008.1.2.4.80") {
		t.Errorf("JPEG-LS series: error %v, want one naming the transfer syntax", err)
	}

	rows := copySeries(t, patientB, func(i int, b []byte) []byte {
		if i == 3 {
			return setElement(t, b, 0x0028, 0x0010, "US", []byte{0, 1})
		}
		return b
	})
	_, err = ReadDICOM(ctx, rows, DICOMOptions{})
	if err == nil || !strings.Contains(err.Error(), "inconsistent image size") {
		t.Errorf("series with one 256-row file: error %v", err)
	}

	if !jpeg2000Supported {
		_, err = ReadDICOM(ctx, patientB, DICOMOptions{})
		if !errors.Is(err, ErrUnsupportedTransferSyntax) || !strings.Contains(err.Error(), "JPEG 2000") {
			t.Errorf("JPEG 2000 series without a decoder: error %v", err)
		}
	}

	orient := copySeries(t, patientB, func(i int, b []byte) []byte {
		if i == 5 {
			return setElement(t, b, 0x0020, 0x0037, "DS", []byte(`0\1\0\1\0\0`))
		}
		return b
	})
	_, err = ReadDICOM(ctx, orient, DICOMOptions{})
	if err == nil || !strings.Contains(err.Error(), "inconsistent ImageOrientationPatient") {
		t.Errorf("series with one rotated file: error %v", err)
	}
}

func TestDICOMSkipsOtherFiles(t *testing.T) {
	needPatientB(t)
	dir := copySeries(t, patientB, nil)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := ReadDICOM(context.Background(), dir, DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Dims[2] != 20 || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "skipped 1 files") {
		t.Errorf("dims %v warnings %q", v.Dims, v.Warnings)
	}
}

func TestReadDICOMCanceled(t *testing.T) {
	needDir(t, patientB)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadDICOM(ctx, patientB, DICOMOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// synthSlice returns the header of an axial slice at LPS z, 4x3 pixels
// (columns x rows) with different row and column spacing.
func synthSlice(name string, z float64, instance int) *dicomFile {
	return &dicomFile{
		path: name, transferSyntax: tsExplicitLE, rows: 3, cols: 4,
		bitsAllocated: 16, bitsStored: 16, samples: 1, frames: 1, slope: 1, instance: instance,
		ipp: []float64{-10, -20, z}, iop: []float64{1, 0, 0, 0, 1, 0}, pixelSpacing: []float64{0.5, 0.8},
	}
}

func TestAssembleSeries(t *testing.T) {
	tilted := func(name string, z float64) *dicomFile {
		f := synthSlice(name, z, 0)
		f.ipp[1] += z * 0.2 // the table moves in y as the slices advance
		return f
	}
	tests := []struct {
		name      string
		files     []*dicomFile
		wantOrder []string
		wantK     [3]float64 // column k of the RAS affine
		wantWarn  []string
		wantErr   string
	}{
		{
			name:      "sorted along the normal, not by name",
			files:     []*dicomFile{synthSlice("c", 4, 3), synthSlice("a", 0, 1), synthSlice("b", 2, 2)},
			wantOrder: []string{"a", "b", "c"},
			wantK:     [3]float64{0, 0, 2},
		},
		{
			name:      "duplicate position keeps the lowest instance",
			files:     []*dicomFile{synthSlice("a", 0, 1), synthSlice("dup", 2, 5), synthSlice("b", 2, 2), synthSlice("c", 4, 3)},
			wantOrder: []string{"a", "b", "c"},
			wantK:     [3]float64{0, 0, 2},
			wantWarn:  []string{"1 files repeat the slice position"},
		},
		{
			name:      "missing slice",
			files:     []*dicomFile{synthSlice("a", 0, 1), synthSlice("b", 2, 2), synthSlice("d", 6, 4), synthSlice("e", 8, 5)},
			wantOrder: []string{"a", "b", "d", "e"},
			wantK:     [3]float64{0, 0, 8.0 / 3},
			wantWarn:  []string{"gap of 4 mm between slices 1 and 2", "uneven slice spacing"},
		},
		{
			name:      "gantry tilt",
			files:     []*dicomFile{tilted("a", 0), tilted("b", 2), tilted("c", 4)},
			wantOrder: []string{"a", "b", "c"},
			wantK:     [3]float64{0, -0.4, 2},
			wantWarn:  []string{"gantry tilt: the slices advance 11.31°"},
		},
		{
			name:      "single slice uses the thickness",
			files:     []*dicomFile{func() *dicomFile { f := synthSlice("a", 0, 1); f.thickness = 3; return f }()},
			wantOrder: []string{"a"},
			wantK:     [3]float64{0, 0, 3},
		},
		{
			name:    "missing position",
			files:   []*dicomFile{func() *dicomFile { f := synthSlice("a", 0, 1); f.ipp = nil; return f }()},
			wantErr: "no valid ImagePositionPatient",
		},
		{
			name:    "not orthogonal",
			files:   []*dicomFile{func() *dicomFile { f := synthSlice("a", 0, 1); f.iop = []float64{1, 0, 0, 1, 0, 0}; return f }()},
			wantErr: "not two orthogonal unit vectors",
		},
		{
			name:    "inconsistent spacing",
			files:   []*dicomFile{synthSlice("a", 0, 1), func() *dicomFile { f := synthSlice("b", 2, 2); f.pixelSpacing = []float64{0.8, 0.5}; return f }()},
			wantErr: "inconsistent PixelSpacing",
		},
		{
			name:    "multi-frame",
			files:   []*dicomFile{func() *dicomFile { f := synthSlice("a", 0, 1); f.frames = 30; return f }()},
			wantErr: "multi-frame",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := assembleSeries(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, i := range g.order {
				order = append(order, tc.files[i].path)
			}
			if strings.Join(order, ",") != strings.Join(tc.wantOrder, ",") {
				t.Errorf("order %v, want %v", order, tc.wantOrder)
			}
			a := g.grid.Affine
			// i runs along a row: LPS +x, spacing PixelSpacing[1] = 0.8,
			// RAS -x. j runs down the columns: LPS +y, PixelSpacing[0] = 0.5.
			wantIJ := [3][2]float64{{-0.8, 0}, {0, -0.5}, {0, 0}}
			for r := 0; r < 3; r++ {
				if a[r][0] != wantIJ[r][0] || a[r][1] != wantIJ[r][1] {
					t.Errorf("affine columns i, j: %v, want %v", a, wantIJ)
					break
				}
				if math.Abs(a[r][2]-tc.wantK[r]) > 1e-9 {
					t.Errorf("affine column k: (%v, %v, %v), want %v", a[0][2], a[1][2], a[2][2], tc.wantK)
					break
				}
			}
			first := tc.files[g.order[0]]
			if a[0][3] != -first.ipp[0] || a[1][3] != -first.ipp[1] || a[2][3] != first.ipp[2] {
				t.Errorf("origin (%v, %v, %v), want the first slice's position in RAS", a[0][3], a[1][3], a[2][3])
			}
			if g.grid.Dims != [3]int{4, 3, len(tc.wantOrder)} {
				t.Errorf("dims %v", g.grid.Dims)
			}
			if len(g.warnings) != len(tc.wantWarn) {
				t.Fatalf("warnings %q, want %q", g.warnings, tc.wantWarn)
			}
			for i, w := range tc.wantWarn {
				if !strings.Contains(g.warnings[i], w) {
					t.Errorf("warning %q, want %q", g.warnings[i], w)
				}
			}
		})
	}
}

func TestDecodeNative(t *testing.T) {
	le16 := func(v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint16(b, x)
		}
		return b
	}
	tests := []struct {
		name              string
		ts                string
		bits, stored, rep int
		slope, intercept  float64
		native            []byte
		want              []float32
	}{
		{"unsigned with intercept", tsExplicitLE, 16, 12, 0, 1, -1024, le16(0, 1024, 4095, 0xF000), []float32{-1024, 0, 3071, -1024}},
		{"signed 16", tsImplicitLE, 16, 16, 1, 1, 0, le16(0xFC18, 0, 1, 0x7FFF), []float32{-1000, 0, 1, 32767}},
		{"signed 12 bits stored", tsExplicitLE, 16, 12, 1, 1, 0, le16(0x0830, 0x07FF, 0xF830, 1), []float32{-2000, 2047, -2000, 1}},
		{"slope", tsExplicitLE, 16, 16, 0, 0.5, -10, le16(0, 2, 4, 6), []float32{-10, -9, -8, -7}},
		{"big endian", tsExplicitBE, 16, 16, 1, 1, 0, []byte{0xFC, 0x18, 0, 1, 0, 2, 0xFF, 0xFF}, []float32{-1000, 1, 2, -1}},
		{"8 bits", tsExplicitLE, 8, 8, 0, 1, 0, []byte{0, 1, 2, 255}, []float32{0, 1, 2, 255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &dicomFile{
				path: "x", transferSyntax: tc.ts, rows: 2, cols: 2, bitsAllocated: tc.bits, bitsStored: tc.stored,
				pixelRep: tc.rep, slope: tc.slope, intercept: tc.intercept, samples: 1, frames: 1,
				ipp: []float64{0, 0, 0}, iop: []float64{1, 0, 0, 0, 1, 0}, pixelSpacing: []float64{1, 1}, native: tc.native, pixelBytes: int64(len(tc.native)),
			}
			got := make([]float32, 4)
			if err := decodeFrame(f, got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			f.native = f.native[:len(f.native)-1]
			if err := decodeFrame(f, got); err == nil {
				t.Error("no error for short pixel data")
			}
		})
	}
}

func BenchmarkReadDICOM(b *testing.B) {
	needPatientB(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := ReadDICOM(ctx, patientB, DICOMOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDICOMGapsRefused checks that a series with an unreadable file or a
// missing slice is refused, naming the file, unless AllowGaps is set; then
// it is read with warnings, as before.
func TestDICOMGapsRefused(t *testing.T) {
	needPatientB(t)
	ctx := context.Background()
	scan, err := ScanDICOM(ctx, patientB)
	if err != nil {
		t.Fatal(err)
	}
	g, err := assembleSeries(scan.files[scan.Series[0].key])
	if err != nil {
		t.Fatal(err)
	}
	files := scan.files[scan.Series[0].key]
	middle := filepath.Base(files[g.order[10]].path)
	before, after := filepath.Base(files[g.order[9]].path), filepath.Base(files[g.order[11]].path)

	b, err := os.ReadFile(filepath.Join(patientB, middle))
	if err != nil {
		t.Fatal(err)
	}
	// A copy cut short in the pixel data, and one cut just before it.
	broken := copySeries(t, patientB, nil)
	if err := os.WriteFile(filepath.Join(broken, middle), b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	noPixels := copySeries(t, patientB, nil)
	px := bytes.LastIndex(b, []byte("\xe0\x7f\x10\x00"))
	if err := os.WriteFile(filepath.Join(noPixels, middle), b[:px], 0o644); err != nil {
		t.Fatal(err)
	}
	missing := copySeries(t, patientB, nil)
	if err := os.Remove(filepath.Join(missing, middle)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		dir      string
		path     string // what is opened: the folder or one of its files
		wantName []string
		wantWarn string
	}{
		{"unreadable file", broken, broken, []string{middle}, "skipped unreadable file"},
		{"unreadable file, opened by another file", broken, filepath.Join(broken, before), []string{middle}, "skipped unreadable file"},
		{"image without pixel data", noPixels, noPixels, []string{middle, "without pixel data"}, "skipped unreadable file"},
		{"missing slice", missing, missing, []string{before, after}, "gap of 4 mm between slices 9 and 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(ctx, tc.path, OpenOptions{})
			if !errors.Is(err, ErrGaps) {
				t.Fatalf("error %v, want ErrGaps", err)
			}
			for _, n := range tc.wantName {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
			v, err := Open(ctx, tc.path, OpenOptions{DICOM: DICOMOptions{AllowGaps: true}})
			if err != nil {
				t.Fatalf("with AllowGaps: %v", err)
			}
			if v.Dims[2] != 19 || !strings.Contains(strings.Join(v.Warnings, "\n"), tc.wantWarn) {
				t.Errorf("with AllowGaps: %d slices, warnings %q; want 19 and %q", v.Dims[2], v.Warnings, tc.wantWarn)
			}
		})
	}
}
