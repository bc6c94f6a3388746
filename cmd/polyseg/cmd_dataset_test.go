package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

const (
	patientACT  = realDir + "/example_ct.nii.gz"
	patientASeg = realDir + "/example_seg_fast_force_split.nii.gz"
	patientBSeg = realDir + "/example_seg_dicom.nii.gz"
)

// python runs one of the tests' independent computations with Debian's
// python3 and decodes its JSON output into v.
func python(t *testing.T, v any, script string, args ...string) {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import nibabel, numpy, pydicom").Run(); err != nil {
		t.Skipf("python3 with nibabel, numpy and pydicom (scripts/setup.sh installs them) not available: %v", err)
	}
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("python: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
}

// makeRealDataset makes, with the commands themselves, a dataset of
// patient A (NIfTI with its labels), patient B (the DICOM series with a
// label file in another voxel order) and a phantom.
func makeRealDataset(t *testing.T) string {
	t.Helper()
	needFixture(t, patientACT)
	needFixture(t, patientBDir)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "Dataset501_Abdomen")
	ph := filepath.Join(tmp, "phantom")
	for _, s := range [][]string{
		{"dataset", "init", "--name", "Abdomen", dir},
		{"dataset", "add", "--labels", patientASeg, "--case", "patient_A", dir, patientACT},
		{"dataset", "add", "--labels", patientBSeg, dir, patientBDir},
		{"phantom", ph, "--seed", "3", "--size", "64", "--slices", "16"},
		{"dataset", "add", "--labels", filepath.Join(ph, "phantom_A_0003_labels.nii.gz"), dir, filepath.Join(ph, "phantom_A_0003.nii.gz")},
	} {
		if code, stdout, stderr := runVolumeCmd(t, s...); code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", strings.Join(s, " "), code, stdout, stderr)
		}
	}
	return dir
}

// nnunetVerify is an independent reading of an nnU-Net dataset with
// nibabel, after nnunetv2's verify_dataset_integrity: the identifiers from
// imagesTr, numTraining, consecutive labels from background 0, each case's
// channels and label on one grid (shape, affine, zooms), only declared
// values, no NaN. It prints the values found per case.
const nnunetVerify = `
import json, os, sys
import nibabel as nib, numpy as np
root = sys.argv[1]
dj = json.load(open(os.path.join(root, 'dataset.json')))
labels = dj['labels']
vals = sorted(labels.values())
assert labels['background'] == 0, 'background'
assert vals == list(range(len(vals))), 'labels not consecutive'
ending = dj['file_ending']
files = [f for f in os.listdir(os.path.join(root, 'imagesTr')) if f.endswith(ending)]
ids = sorted({f[:-len(ending) - 5] for f in files})
assert len(ids) == dj['numTraining'], 'numTraining'
nch = len(dj['channel_names'])
out = {}
for i in ids:
    ims = [nib.load(os.path.join(root, 'imagesTr', '%s_%04d%s' % (i, c, ending))) for c in range(nch)]
    seg = nib.load(os.path.join(root, 'labelsTr', i + ending))
    assert ims[0].shape == seg.shape, i + ' shape'
    assert np.allclose(ims[0].affine, seg.affine, rtol=1e-5, atol=1e-5), i + ' affine'
    assert np.allclose(ims[0].header.get_zooms()[:3], seg.header.get_zooms()[:3]), i + ' spacing'
    for im in ims:
        a = np.asanyarray(im.dataobj)
        assert not (a.dtype.kind == 'f' and np.isnan(a).any()), i + ' NaN'
    found = np.unique(np.asanyarray(seg.dataobj)).tolist()
    assert set(found) <= set(vals), i + ' undeclared values'
    out[i] = found
print(json.dumps(out))
`

// sameLabels maps every voxel of a label file to world coordinates and
// into another label file, and counts the voxels whose values differ: the
// resampling of labels in another voxel order, done with nibabel. It takes
// pairs of files (the dataset's, the source) and prints one result each.
const sameLabels = `
import json, sys
import nibabel as nib, numpy as np
out = []
for dst_path, src_path in zip(sys.argv[1::2], sys.argv[2::2]):
    dst, src = nib.load(dst_path), nib.load(src_path)
    D, S = np.asanyarray(dst.dataobj), np.asanyarray(src.dataobj)
    M = np.linalg.inv(src.affine) @ dst.affine
    ijk = np.indices(D.shape, dtype=np.int32).reshape(3, -1)
    p = np.rint(M[:3, :3] @ ijk + M[:3, 3:]).astype(np.int32)
    inside = np.all((p >= 0) & (p < np.array(S.shape)[:, None]), axis=0)
    mapped = np.zeros(ijk.shape[1], dtype=np.int64)
    mapped[inside] = S[p[0, inside], p[1, inside], p[2, inside]]
    out.append({'differ': int((mapped != D.reshape(-1)).sum()), 'voxels': int(D.size), 'outside': int((~inside).sum())})
print(json.dumps(out))
`

func TestDatasetRealData(t *testing.T) {
	dir := makeRealDataset(t)
	code, stdout, stderr := runVolumeCmd(t, "dataset", "check", dir)
	if code != 0 || !strings.Contains(stdout, "3 cases, 118 labels: OK") {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
	}

	var found map[string][]int
	python(t, &found, nnunetVerify, dir)
	if len(found) != 3 || len(found["patient_A"]) != 62 || len(found["example_ct_dicom"]) != 32 || len(found["phantom_A_0003"]) < 10 {
		t.Errorf("nibabel's reading of the dataset: %v", found)
	}
	// Patient B's labels, stored LAS, were brought onto the DICOM grid
	// voxel for voxel.
	// Patient A's labels are the source's, on the same grid.
	var cmp []struct{ Differ, Voxels, Outside int }
	python(t, &cmp, sameLabels, filepath.Join(dir, "labelsTr", "example_ct_dicom.nii.gz"), patientBSeg,
		filepath.Join(dir, "labelsTr", "patient_A.nii.gz"), patientASeg)
	if len(cmp) != 2 || cmp[0].Differ != 0 || cmp[0].Outside != 0 || cmp[0].Voxels != 512*512*20 {
		t.Errorf("patient B's labels against the source through world coordinates: %+v", cmp)
	}
	if len(cmp) != 2 || cmp[1].Differ != 0 || cmp[1].Outside != 0 || cmp[1].Voxels != 122*101*112 {
		t.Errorf("patient A's labels against the source: %+v", cmp)
	}

	code, stdout, _ = runVolumeCmd(t, "dataset", "status", dir)
	for _, want := range []string{`nnU-Net v2 dataset "Abdomen", 3 cases`, "patient_A ", "example_ct_dicom ", "phantom_A_0003 ", "summary: 3 to do"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "dataset.json"))
	for _, want := range []string{`"name": "Abdomen"`, `"channel_names": {`, `"0": "CT"`, `"liver": 5`, `"costal_cartilages": 117`, `"numTraining": 3`, `"file_ending": ".nii.gz"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("dataset.json lacks %s", want)
		}
	}

	// Broken copies fail, naming the case, the file and the problem.
	broken := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   string
	}{
		{"label on another grid", func(t *testing.T, dir string) {
			copyFile(t, patientBSeg, filepath.Join(dir, "labelsTr", "example_ct_dicom.nii.gz"))
		}, "PROBLEM: case example_ct_dicom: labelsTr/example_ct_dicom.nii.gz: label file not on its image's grid: origin"},
		{"undeclared value", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "labelsTr", "patient_A.nii.gz")
			l, err := volume.ReadLabelsNIfTI(p)
			if err != nil {
				t.Fatal(err)
			}
			l.Data[1000] = 200
			if err := volume.WriteLabels(p, l, &volume.Volume{Grid: l.Grid}); err != nil {
				t.Fatal(err)
			}
		}, "PROBLEM: case patient_A: labelsTr/patient_A.nii.gz: label values not declared in dataset.json: 200 (1 voxels)"},
		{"missing label", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "labelsTr", "phantom_A_0003.nii.gz"))
		}, "PROBLEM: case phantom_A_0003: labelsTr/phantom_A_0003.nii.gz: label file missing"},
		{"stray file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "imagesTr", "notes.txt"), []byte("x"), 0o644)
		}, "PROBLEM: imagesTr/notes.txt: stray file"},
		{"unreadable image", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "imagesTr", "patient_A_0000.nii.gz")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/3], 0o644)
		}, "PROBLEM: case patient_A: imagesTr/patient_A_0000.nii.gz: unreadable image"},
	}
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			cp := filepath.Join(t.TempDir(), "ds")
			copyTree(t, dir, cp)
			tc.break_(t, cp)
			code, stdout, stderr := runVolumeCmd(t, "dataset", "check", cp)
			if code != 1 || !strings.Contains(stdout, tc.want) || !strings.Contains(stderr, "dataset, 3 cases)") {
				t.Errorf("check of a broken copy: exit %d, want 1 and %q\n%s%s", code, tc.want, stdout, stderr)
			}
		})
	}
}

// TestDatasetInitPlainAndMSD converts a plain folder of scans in place and
// from another folder, and checks a Decathlon layout written by polyseg
// phantom.
func TestDatasetInitPlainAndMSD(t *testing.T) {
	tmp := t.TempDir()
	plain := filepath.Join(tmp, "scans")
	for _, seed := range []string{"1", "2"} {
		if code, out, errs := runVolumeCmd(t, "phantom", plain, "--seed", seed, "--size", "48", "--slices", "12"); code != 0 {
			t.Fatal(out, errs)
		}
	}
	os.WriteFile(filepath.Join(plain, "notes.txt"), []byte("handed over by the scanner"), 0o644)
	code, stdout, _ := runVolumeCmd(t, "dataset", "status", plain)
	if code != 0 || !strings.Contains(stdout, "plain folder") || !strings.Contains(stdout, "read-only") || !strings.Contains(stdout, "phantom_A_0001 ") {
		t.Errorf("status of a plain folder:\n%s", stdout)
	}
	if code, stdout, stderr := runVolumeCmd(t, "dataset", "check", plain); code != 1 || !strings.Contains(stdout, "not a dataset") {
		t.Errorf("check of a plain folder: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr := runVolumeCmd(t, "dataset", "add", plain, filepath.Join(plain, "phantom_A_0001.nii.gz"))
	if code != 1 || !strings.Contains(stderr, "polyseg dataset init") {
		t.Errorf("add into a plain folder: exit %d, %s", code, stderr)
	}

	// From another folder, then in place.
	conv := filepath.Join(tmp, "conv")
	code, stdout, stderr = runVolumeCmd(t, "dataset", "init", "--from", plain, conv)
	if code != 0 || !strings.Contains(stdout, "case phantom_A_0001: added from") || !strings.Contains(stdout, "2 cases added, 2 in the dataset") {
		t.Fatalf("init --from: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runVolumeCmd(t, "dataset", "init", plain)
	if code != 0 || !strings.Contains(stdout, "2 cases added") {
		t.Fatalf("init in place: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, d := range []string{conv, plain} {
		if code, stdout, stderr := runVolumeCmd(t, "dataset", "check", d); code != 0 {
			t.Errorf("check %s: exit %d\n%s%s", d, code, stdout, stderr)
		}
		l, err := volume.ReadLabelsNIfTI(filepath.Join(d, "labelsTr", "phantom_A_0002.nii.gz"))
		src, err2 := volume.ReadLabelsNIfTI(filepath.Join(plain, "phantom_A_0002_labels.nii.gz"))
		if err != nil || err2 != nil || !equalLabels(l.Data, src.Data) {
			t.Errorf("%s: converted labels differ from the source (%v, %v)", d, err, err2)
		}
	}
	// Run again, nothing is added twice.
	code, stdout, _ = runVolumeCmd(t, "dataset", "init", "--from", plain, conv)
	if code != 0 || !strings.Contains(stdout, "already in the dataset, skipped") || !strings.Contains(stdout, "0 cases added, 2 in the dataset") {
		t.Errorf("init --from again: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runVolumeCmd(t, "dataset", "init", conv); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("init over a dataset: exit %d, %s", code, stderr)
	}
	// A scan dropped into the folder converted in place joins it on the
	// next init; those converted before are not added twice.
	if code, out, errs := runVolumeCmd(t, "phantom", plain, "--seed", "4", "--size", "48", "--slices", "12", "--scanner", "B"); code != 0 {
		t.Fatal(out, errs)
	}
	code, stdout, stderr = runVolumeCmd(t, "dataset", "init", plain)
	if code != 0 || !strings.Contains(stdout, "case phantom_B_0004: added") || !strings.Contains(stdout, "1 cases added, 3 in the dataset") {
		t.Errorf("init in place again: exit %d\n%s%s", code, stdout, stderr)
	}

	msd := filepath.Join(tmp, "Task01")
	if code, out, errs := runVolumeCmd(t, "phantom", msd, "--msd", "--count", "2", "--size", "48", "--slices", "12"); code != 0 {
		t.Fatal(out, errs)
	}
	code, stdout, stderr = runVolumeCmd(t, "dataset", "check", msd)
	if code != 0 || !strings.Contains(stdout, "Medical Segmentation Decathlon dataset") || !strings.Contains(stdout, "note: dataset.json: labels must be consecutive") {
		t.Errorf("check of polyseg phantom --msd: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runVolumeCmd(t, "dataset", "status", msd)
	if code != 0 || !strings.Contains(stdout, "phantom_A_0002 ") {
		t.Errorf("status of the MSD dataset:\n%s", stdout)
	}
	// Converted to nnU-Net's layout, it checks clean: the gaps between
	// its label values are declared.
	fromMSD := filepath.Join(tmp, "Dataset001")
	code, stdout, stderr = runVolumeCmd(t, "dataset", "init", "--from", msd, fromMSD)
	if code != 0 || !strings.Contains(stdout, "2 cases added") {
		t.Errorf("init --from an MSD dataset: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runVolumeCmd(t, "dataset", "check", fromMSD); code != 0 || strings.Contains(stdout, "note: dataset.json") {
		t.Errorf("check of the converted MSD dataset: exit %d\n%s%s", code, stdout, stderr)
	}
	// A case added to it keeps the phantom's own record of the others.
	code, _, stderr = runVolumeCmd(t, "dataset", "add", "--case", "extra", msd, filepath.Join(plain, "phantom_A_0001.nii.gz"))
	b, _ := os.ReadFile(filepath.Join(msd, "dataset.json"))
	if code != 0 || !strings.Contains(string(b), `"./imagesTr/extra.nii.gz"`) || !strings.Contains(string(b), `"noise_sigma_hu"`) {
		t.Errorf("add to the MSD dataset: exit %d %s\n%s", code, stderr, b)
	}
}

func equalLabels(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDatasetUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"dataset"},
		{"dataset", "frobnicate"},
		{"dataset", "init"},
		{"dataset", "init", dir, dir},
		{"dataset", "add", dir},
		{"dataset", "add", "--case", "a/b", dir, "scan.nii.gz"},
		{"dataset", "status"},
		{"dataset", "check", dir, dir},
		{"stats", "scan.nii.gz"},
	} {
		code, _, stderr := runVolumeCmd(t, args...)
		if code != 2 || !strings.Contains(stderr, "usage: polyseg "+args[0]) {
			t.Errorf("%v: exit %d, %s; want 2 and the usage", args, code, stderr)
		}
	}
	if code, _, stderr := runVolumeCmd(t, "dataset", "check", filepath.Join(dir, "nope")); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("check of a missing folder: %d %s", code, stderr)
	}
}

// statsScript measures each segment with nibabel and NumPy: voxels, mL,
// mean and SD (ddof 0) of HU, and the axial slices in the app's numbering
// (from 1 at the inferior end, along the voxel axis nearest to S/I). With
// a DICOM folder for the scan, pydicom reads the series and the labels
// are brought onto it through world coordinates.
const statsScript = `
import glob, json, os, sys
import nibabel as nib, numpy as np
scan, seg_path = sys.argv[1], sys.argv[2]
if os.path.isdir(scan):
    import pydicom
    ds = [pydicom.dcmread(p) for p in glob.glob(os.path.join(scan, '*'))]
    iop = np.array(ds[0].ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    ds.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, float))))
    x = np.stack([d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in ds]).transpose(2, 1, 0)
    dr, dc = (float(v) for v in ds[0].PixelSpacing)
    p0 = np.array(ds[0].ImagePositionPatient, float)
    step = (np.array(ds[-1].ImagePositionPatient, float) - p0) / (len(ds) - 1)
    A = np.eye(4)
    A[:3, 0], A[:3, 1], A[:3, 2], A[:3, 3] = row * dc, col * dr, step, p0
    A = np.diag([-1.0, -1.0, 1.0, 1.0]) @ A
else:
    img = nib.load(scan)
    x, A = img.get_fdata(dtype=np.float64), img.affine
seg = nib.load(seg_path)
S = np.asanyarray(seg.dataobj).astype(np.int64)
M = np.linalg.inv(seg.affine) @ A
ijk = np.indices(x.shape).reshape(3, -1)
p = np.rint(M[:3, :3] @ ijk + M[:3, 3:]).astype(int)
inside = np.all((p >= 0) & (p < np.array(S.shape)[:, None]), axis=0)
lab = np.zeros(ijk.shape[1], dtype=np.int64)
lab[inside] = S[p[0, inside], p[1, inside], p[2, inside]]
lab = lab.reshape(x.shape)
codes = nib.aff2axcodes(A)
ax = [i for i, c in enumerate(codes) if c in 'SI'][0]
n = x.shape[ax]
mL = abs(np.linalg.det(A[:3, :3])) / 1000
# Per label in one pass each: counts and sums by bincount, then the
# squared deviations from each label's mean (two passes, ddof 0).
flat, xf = lab.reshape(-1), x.reshape(-1)
count = np.bincount(flat)
mean = np.bincount(flat, weights=xf) / np.maximum(count, 1)
var = np.bincount(flat, weights=(xf - mean[flat]) ** 2) / np.maximum(count, 1)
per_slice = np.moveaxis(lab, ax, 0).reshape(n, -1)
lo, hi = {}, {}
for s in range(n):
    for v in np.unique(per_slice[s]).tolist():
        lo.setdefault(v, s)
        hi[v] = s
out = {}
for v in np.nonzero(count)[0].tolist():
    if v == 0:
        continue
    a, b = lo[v], hi[v]
    if codes[ax] == 'I':
        a, b = n - 1 - b, n - 1 - a
    out[str(v)] = [int(count[v]), float(count[v] * mL), float(mean[v]), float(np.sqrt(var[v])), a + 1, b + 1]
print(json.dumps(out))
`

// TestStatsAgainstNumPy compares polyseg stats with nibabel and NumPy
// on patient A (NIfTI, RAS) and patient B (the DICOM series, with its
// LAS label file brought onto it), every label.
func TestStatsAgainstNumPy(t *testing.T) {
	for _, tc := range []struct{ name, scan, seg string }{
		{"patient A", patientACT, patientASeg},
		{"patient B", patientBDir, patientBSeg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			needFixture(t, tc.scan)
			out := filepath.Join(t.TempDir(), "stats.csv")
			code, stdout, stderr := runVolumeCmd(t, "stats", "--csv", out, tc.scan, tc.seg)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			if !strings.Contains(stdout, "numbered 1 (most inferior)") || !strings.Contains(stdout, "liver") {
				t.Errorf("table:\n%s", stdout)
			}
			var ref map[string][6]float64
			python(t, &ref, statsScript, tc.scan, tc.seg)
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rows[0], ","); got != "label,name,voxels,volume_ml,mean_hu,sd_hu,first_axial_slice,last_axial_slice,surface_mm2,max_diameter_mm" {
				t.Errorf("CSV header %s", got)
			}
			if len(rows)-1 != len(ref) {
				t.Fatalf("%d segments, NumPy finds %d", len(rows)-1, len(ref))
			}
			for _, r := range rows[1:] {
				want, ok := ref[r[0]]
				if !ok {
					t.Errorf("label %s not in NumPy's", r[0])
					continue
				}
				var got [6]float64
				for i := range got {
					got[i], _ = strconv.ParseFloat(r[2+i], 64)
				}
				for i, tol := range [6]float64{0, 1e-9, 1e-9, 1e-9, 0, 0} {
					if math.Abs(got[i]-want[i]) > tol*math.Max(1, math.Abs(want[i])) {
						t.Errorf("label %s (%s) column %s: %v, NumPy %v", r[0], r[1], rows[0][2+i], got[i], want[i])
					}
				}
			}
			t.Logf("%d segments agree with NumPy", len(rows)-1)
		})
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		copyFile(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
