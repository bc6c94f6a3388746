package volume

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestReadLabelsNIfTI(t *testing.T) {
	dim := [8]int64{3, 2, 2, 1}
	pix := [8]float64{1, 1, 1, 1}
	tests := []struct {
		name  string
		dt    int16
		data  any
		slope float64
		want  []uint16
		msg   string // error expected when set
	}{
		{"uint8", dtUint8, []uint8{0, 1, 5, 255}, 0, []uint16{0, 1, 5, 255}, ""},
		{"uint16", dtUint16, []uint16{0, 1, 300, 65535}, 0, []uint16{0, 1, 300, 65535}, ""},
		{"int32", dtInt32, []int32{0, 7, 117, 65535}, 0, []uint16{0, 7, 117, 65535}, ""},
		{"float32 integral", dtFloat32, []float32{0, 1, 2, 3}, 0, []uint16{0, 1, 2, 3}, ""},
		{"uint8 scaled", dtUint8, []uint8{0, 1, 2, 3}, 2, []uint16{0, 2, 4, 6}, ""},
		{"probabilities", dtFloat32, []float32{0, 0.5, 1, 1}, 0, nil, "label value 0.5 at voxel (1, 0, 0)"},
		{"negative", dtInt16, []int16{0, 0, 0, -1}, 0, nil, "label value -1 at voxel (1, 1, 0)"},
		{"too large", dtInt32, []int32{70000, 0, 0, 0}, 0, nil, "label value 70000 at voxel (0, 0, 0)"},
		{"NaN", dtFloat64, []float64{0, 0, math.NaN(), 0}, 0, nil, "label value NaN at voxel (0, 1, 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := synthNIfTI{dt: tt.dt, dim: dim, pixdim: pix, slope: tt.slope, data: tt.data}.bytes(t)
			path := writeTemp(t, "l.nii.gz", gzipBytes(t, b))
			l, err := ReadLabelsNIfTI(path)
			if tt.msg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one naming %s and saying %q", err, path, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if l.Data[i] != w {
					t.Errorf("label %d = %d, want %d", i, l.Data[i], w)
				}
			}
		})
	}
}

func TestLoadLabels(t *testing.T) {
	segPath := realFile(t, "example_seg_dicom.nii.gz")
	seg, err := ReadLabelsNIfTI(segPath)
	if err != nil {
		t.Fatal(err)
	}
	ny := float64(seg.Dims[1] - 1)
	// The LPS grid a DICOM reader builds for patient B, as it would
	// compute it: in float64 and a hair away from the float32 header.
	lps := gridFrom(seg.Grid, Affine{{1, 0, 0, 0}, {0, -1, 0, ny}, {0, 0, 1, 0}, {0, 0, 0, 1}}, seg.Dims)
	lps.Affine[0][3] += 2e-6
	same := seg.Grid
	same.Affine[1][3] -= 3e-6
	far := seg.Grid
	far.Affine[2][3] += 5000

	tests := []struct {
		name string
		ref  Grid
		warn string
		is   error
	}{
		{"same grid", same, "", nil},
		{"LPS grid", lps, "labels on another grid (LAS 512x512x20) resampled onto the scan grid (LPS 512x512x20) exactly, voxel for voxel", nil},
		{"no overlap", far, "", ErrNoOverlap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, warnings, err := LoadLabels(segPath, tt.ref)
			if tt.is != nil {
				if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), segPath) {
					t.Fatalf("error %v, want %v naming %s", err, tt.is, segPath)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(warnings, ";") != tt.warn {
				t.Errorf("warnings %q, want %q", warnings, tt.warn)
			}
			if l.Grid != tt.ref {
				t.Errorf("grid %v, want exactly the reference %v", l.Grid, tt.ref)
			}
			var n int
			for _, v := range l.Data {
				if v != 0 {
					n++
				}
			}
			var want int
			for _, v := range seg.Data {
				if v != 0 {
					want++
				}
			}
			if n != want {
				t.Errorf("%d labelled voxels, want all %d", n, want)
			}
		})
	}
}

// nibabelScript prints, for a NIfTI file, what nibabel makes of it, and
// per label the voxel count and the sum of flat voxel indices in NIfTI order
// (i fastest): a checksum of where every label is.
const nibabelScript = `
import json, sys
import nibabel, numpy as np
img = nibabel.load(sys.argv[1])
h = img.header
d = np.asanyarray(img.dataobj)
flat = d.ravel(order="F").astype(np.int64)
idx = np.arange(flat.size, dtype=np.int64)
labels = {}
for v in np.unique(flat):
    m = flat == v
    labels[str(int(v))] = [int(m.sum()), int(idx[m].sum())]
print(json.dumps({
    "shape": list(d.shape), "dtype": str(d.dtype),
    "sform": img.get_sform().tolist(), "sform_code": int(h["sform_code"]),
    "qform": img.get_qform().tolist(), "qform_code": int(h["qform_code"]),
    "affine": img.affine.tolist(), "intent": int(h["intent_code"]),
    "labels": labels,
}))
`

type nibabelReport struct {
	Shape     []int
	Dtype     string
	Sform     Affine
	SformCode int `json:"sform_code"`
	Qform     Affine
	QformCode int `json:"qform_code"`
	Affine    Affine
	Intent    int
	Labels    map[string][2]int64
}

func nibabel(t *testing.T, path string) nibabelReport {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import nibabel").Run(); err != nil {
		t.Skipf("python3-nibabel not available: %v", err)
	}
	out, err := exec.Command(python, "-c", nibabelScript, path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("nibabel: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var r nibabelReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("nibabel output %q: %v", out, err)
	}
	return r
}

// TestWriteLabelsNibabel writes label volumes for real and synthetic scans
// and reads them back with nibabel: same grid, the scan's sform and qform,
// the right dtype and every label where it was.
func TestWriteLabelsNibabel(t *testing.T) {
	ctPath := realFile(t, "example_ct.nii.gz")
	ct, err := ReadNIfTI(ctPath)
	if err != nil {
		t.Fatal(err)
	}
	seg, _, err := LoadLabels(realFile(t, "example_seg_fast_force_split.nii.gz"), ct.Grid)
	if err != nil {
		t.Fatal(err)
	}
	ctNib := nibabel(t, ctPath)

	// A DICOM-like scan: LPS, tilted, no NIfTI metadata of its own; its
	// qform quaternion has a = 0, which must agree with nibabel's.
	c, s := math.Cos(0.15), math.Sin(0.15)
	dcm := &Volume{Grid: Grid{Dims: [3]int{7, 6, 5}, Affine: Affine{
		{-0.7, 0, 0, 120.5}, {0, -0.7 * c, 2.5 * s, 80.25}, {0, 0.7 * s, 2.5 * c, -310}, {0, 0, 0, 1}}}}
	dcm.Data = make([]float32, dcm.Len())
	big := NewLabels(dcm.Grid)
	for i := range big.Data {
		big.Data[i] = uint16(i * 37 % 400)
	}

	tests := []struct {
		name      string
		labels    *Labels
		scan      *Volume
		dtype     string
		sform     Affine
		sformTol  float64
		sformCode int
	}{
		{"example_ct", seg, ct, "uint8", ctNib.Sform, 0, 2},
		{"DICOM-like uint16", big, dcm, "uint16", dcm.Affine, 1e-5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "labels.nii.gz")
			if err := WriteLabels(path, tt.labels, tt.scan); err != nil {
				t.Fatal(err)
			}
			nib := nibabel(t, path)
			d := tt.labels.Dims
			if len(nib.Shape) != 3 || nib.Shape[0] != d[0] || nib.Shape[1] != d[1] || nib.Shape[2] != d[2] {
				t.Errorf("shape %v, want %v", nib.Shape, d)
			}
			if nib.Dtype != tt.dtype || nib.Intent != intentLabel {
				t.Errorf("dtype %s intent %d, want %s %d", nib.Dtype, nib.Intent, tt.dtype, intentLabel)
			}
			// A scan's sform read from NIfTI is written as it was read
			// (float32 to float32): exact. A float64 affine is rounded to
			// float32.
			if !affineClose(nib.Sform, tt.sform, tt.sformTol) || nib.SformCode != tt.sformCode {
				t.Errorf("sform %v code %d, want %v code %d", nib.Sform, nib.SformCode, tt.sform, tt.sformCode)
			}
			// NIfTI-1 keeps the quaternion in float32 and recovers a from
			// b, c and d; near a 180° rotation (this LPS tilted grid)
			// plain rounding costs 2e-4, which float32Quatern avoids.
			if nib.QformCode != 1 || !affineClose(nib.Qform, tt.scan.Affine, 2e-5) {
				t.Errorf("qform %v code %d, want %v code 1", nib.Qform, nib.QformCode, tt.scan.Affine)
			}
			if !affineClose(nib.Affine, tt.scan.Affine, 1e-5) {
				t.Errorf("nibabel affine %v, scan affine %v", nib.Affine, tt.scan.Affine)
			}
			want := map[string][2]int64{}
			for i, v := range tt.labels.Data {
				k := strconv.Itoa(int(v))
				w := want[k]
				want[k] = [2]int64{w[0] + 1, w[1] + int64(i)}
			}
			if len(nib.Labels) != len(want) {
				t.Errorf("%d label values, want %d", len(nib.Labels), len(want))
			}
			for k, w := range want {
				if nib.Labels[k] != w {
					t.Errorf("label %s: count and index sum %v, want %v", k, nib.Labels[k], w)
				}
			}
		})
	}
}

func TestWriteLabelsErrors(t *testing.T) {
	g := rasGrid([3]int{3, 3, 3}, [3]float64{1, 1, 1}, [3]float64{})
	scan := &Volume{Grid: g, Data: make([]float32, 27)}
	moved := g
	moved.Affine[0][3] = 0.5
	dir := t.TempDir()
	tests := []struct {
		name string
		l    *Labels
		msg  string
	}{
		{"other grid", NewLabels(moved), "resample the labels onto the scan first"},
		{"short data", &Labels{Grid: g, Data: make([]uint16, 3)}, "3 voxels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".nii")
			err := WriteLabels(path, tt.l, scan)
			if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s and saying %q", err, path, tt.msg)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("a file was written")
			}
		})
	}
}
