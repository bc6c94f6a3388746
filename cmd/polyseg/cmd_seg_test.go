package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

const segFixtures = "../../dicomseg/testdata"

// TestSEGRoundTripPatientB exports patient B's labels (stored LAS) as a DICOM
// SEG of its series and imports the SEG back: the label volume equals the
// reference brought onto the series' grid, voxel for voxel.
func TestSEGRoundTripPatientB(t *testing.T) {
	needFixture(t, patientBDir)
	dir := t.TempDir()
	seg, out, colors := filepath.Join(dir, "b.dcm"), filepath.Join(dir, "b.nii.gz"), filepath.Join(dir, "b.txt")
	ref := realDir + "/example_seg_dicom.nii.gz"
	code, stdout, stderr := runVolumeCmd(t, "export-seg", "--scan", patientBDir, "--algorithm", "AUTOMATIC:TotalSegmentator", ref, seg)
	if code != 0 {
		t.Fatalf("export-seg: exit %d, %s", code, stderr)
	}
	for _, want := range []string{"wrote " + seg + ": 31 segments in 520 frames", "segment 2: label 5 liver, Liver AUTOMATIC (TotalSegmentator)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("export-seg says %q, lacking %q", stdout, want)
		}
	}
	if !strings.Contains(stderr, "no SeriesInstanceUID") {
		t.Errorf("export-seg does not note the derived series UID: %q", stderr)
	}
	code, stdout, stderr = runVolumeCmd(t, "import-seg", "--scan", patientBDir, "--colors", colors, seg, out)
	if code != 0 {
		t.Fatalf("import-seg: exit %d, %s", code, stderr)
	}
	if want := `label 5 liver: segment 2 "liver", AUTOMATIC (TotalSegmentator), 366708 voxels`; !strings.Contains(stdout, want) {
		t.Errorf("import-seg says %q, lacking %q", stdout, want)
	}
	got, err := volume.ReadLabelsNIfTI(out)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := volume.LoadLabels(ref, got.Grid)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("voxel %d: %d imported, %d in the reference", i, got.Data[i], want.Data[i])
		}
	}
	if b, err := os.ReadFile(colors); err != nil || !strings.Contains(string(b), "\n5 liver 196 64 52 255\n") {
		t.Errorf("colour table %s: %v\n%s", colors, err, b)
	}
}

// TestImportSEGFromDcmqi reads dcmqi's SEG onto its series from the
// command line: its "Liver" becomes the colour table's liver.
func TestImportSEGFromDcmqi(t *testing.T) {
	out := filepath.Join(t.TempDir(), "l.nii")
	code, stdout, stderr := runVolumeCmd(t, "import-seg", "--scan", segFixtures+"/dcmqi-23x38x3/image", segFixtures+"/dcmqi-23x38x3/seg/label.seg", out)
	if code != 0 {
		t.Fatalf("exit %d, %s", code, stderr)
	}
	if want := `label 5 liver: segment 1 "Liver", SEMIAUTOMATIC (SlicerEditor), 322 voxels, colour 221 130 101`; !strings.Contains(stdout, want) {
		t.Errorf("stdout %q lacks %q", stdout, want)
	}
}

// TestSEGCommandsRefuse: bad input is refused, naming the file and the
// cause, and no output is left.
func TestSEGCommandsRefuse(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.nii.gz")
	ct2 := segFixtures + "/pydicom-ct2"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"fractional", []string{"import-seg", "--scan", ct2, "--allow-gaps", segFixtures + "/highdicom/seg_image_ct_true_fractional.dcm", out}, 1,
			[]string{"seg_image_ct_true_fractional.dcm", "FRACTIONAL"}},
		{"another series", []string{"import-seg", "--scan", ct2, "--allow-gaps", segFixtures + "/dcmqi-23x38x3/seg/label.seg", out}, 1,
			[]string{"label.seg", "is of series"}},
		{"gap not allowed", []string{"import-seg", "--scan", ct2, segFixtures + "/highdicom/seg_image_ct_binary.dcm", out}, 1,
			[]string{"--allow-gaps"}},
		{"no scan", []string{"import-seg", segFixtures + "/highdicom/seg_image_ct_binary.dcm", out}, 2, []string{"--scan DICOMDIR is required"}},
		{"not NIfTI", []string{"import-seg", "--scan", ct2, "x.dcm", filepath.Join(dir, "out.dcm")}, 2, []string{"name it .nii or .nii.gz"}},
		{"labels on no grid of the series", []string{"export-seg", "--scan", ct2, "--allow-gaps", segFixtures + "/dcmqi-23x38x3/nrrd/label.nrrd", filepath.Join(dir, "x.dcm")}, 1,
			[]string{"label.nrrd"}},
		{"bad algorithm", []string{"export-seg", "--scan", ct2, "--algorithm", "AUTOMATIC", "l.nii.gz", filepath.Join(dir, "x.dcm")}, 2,
			[]string{"AUTOMATIC needs a name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runVolumeCmd(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; %s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			left, _ := os.ReadDir(dir)
			if len(left) != 0 {
				t.Errorf("a refused command left %v", left)
			}
		})
	}
}

// TestSEGBesideItsSeries: a SEG written into its series' folder is not
// taken for a second series by the SEG commands.
func TestSEGBesideItsSeries(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"IMG0001.dcm", "IMG0002.dcm", "IMG0003.dcm"} {
		b, err := os.ReadFile(segFixtures + "/dcmqi-23x38x3/image/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	labels := filepath.Join(t.TempDir(), "l.nii.gz")
	if code, _, stderr := runVolumeCmd(t, "import-seg", "--scan", dir, segFixtures+"/dcmqi-23x38x3/seg/label.seg", labels); code != 0 {
		t.Fatalf("import-seg: exit %d, %s", code, stderr)
	}
	seg := filepath.Join(dir, "seg.dcm")
	if code, _, stderr := runVolumeCmd(t, "export-seg", "--scan", dir, labels, seg); code != 0 {
		t.Fatalf("export-seg: exit %d, %s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "again.nii.gz")
	if code, _, stderr := runVolumeCmd(t, "import-seg", "--scan", dir, seg, out); code != 0 {
		t.Fatalf("import-seg with the SEG in the series' folder: exit %d, %s", code, stderr)
	}
	a, err := volume.ReadLabelsNIfTI(labels)
	if err != nil {
		t.Fatal(err)
	}
	b, err := volume.ReadLabelsNIfTI(out)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("voxel %d: %d, then %d", i, a.Data[i], b.Data[i])
		}
	}
}
