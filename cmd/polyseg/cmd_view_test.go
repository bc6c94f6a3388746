package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/volume"
)

func TestParseViewArgs(t *testing.T) {
	// The user's settings and their environment overrides would change
	// the defaults the table expects.
	t.Setenv("POLYSEG_SETTINGS", filepath.Join(t.TempDir(), "absent.json"))
	t.Setenv("POLYSEG_EMBED_CACHE_DIR", "")
	t.Setenv("POLYSEG_EMBED_CACHE_MB", "")
	tests := []struct {
		args    []string
		want    viewArgs
		wantErr error // nil: success; errUsage: a usage error
	}{
		{nil, viewArgs{}, nil},
		{[]string{"ct.nii.gz"}, viewArgs{path: "ct.nii.gz"}, nil},
		{[]string{"ct.nii.gz", "--labels", "seg.nii.gz"}, viewArgs{path: "ct.nii.gz", labels: "seg.nii.gz"}, nil},
		{[]string{"--labels", "seg.nii.gz", "ct.nii.gz"}, viewArgs{path: "ct.nii.gz", labels: "seg.nii.gz"}, nil},
		{[]string{"dicom/", "--series", "2"}, viewArgs{path: "dicom/", opts: volume.OpenOptions{DICOM: volume.DICOMOptions{SeriesIndex: 2}}}, nil},
		{[]string{"dicom/", "--series", "1.2.840.1"}, viewArgs{path: "dicom/", opts: volume.OpenOptions{DICOM: volume.DICOMOptions{SeriesUID: "1.2.840.1"}}}, nil},
		{[]string{"dicom/", "--allow-gaps", "--series", "2"}, viewArgs{path: "dicom/", opts: volume.OpenOptions{DICOM: volume.DICOMOptions{SeriesIndex: 2, AllowGaps: true}}}, nil},
		{[]string{"ct.nii", "--labels", "s.nii", "--goto", "liver"}, viewArgs{path: "ct.nii", labels: "s.nii", goTo: "liver"}, nil},
		{[]string{"ct.nii", "--model", "m.json", "--provider", "cpu", "--threads", "2"}, viewArgs{path: "ct.nii",
			models: app.ModelOptions{UNet: "m.json", Runtime: onnxrt.Options{Provider: onnxrt.ProviderCPU, Threads: 2}}}, nil},
		{[]string{"Dataset001", "--case", "liver_003"}, viewArgs{path: "Dataset001", caseID: "liver_003"}, nil},
		{[]string{"--dataset", "scans/"}, viewArgs{path: "scans/", dataset: true}, nil},
		{[]string{"--case", "liver_003"}, viewArgs{}, errUsage},
		{[]string{"scans/", "--dataset", "--labels", "seg.nii.gz"}, viewArgs{}, errUsage},
		{[]string{"ct.nii", "--provider", "tpu"}, viewArgs{}, errUsage},
		{[]string{"ct.nii", "--goto", "liver"}, viewArgs{}, errUsage},
		{[]string{"a.nii", "b.nii"}, viewArgs{}, errUsage},
		{[]string{"--labels", "seg.nii.gz"}, viewArgs{}, errUsage},
		{[]string{"--series", "2"}, viewArgs{}, errUsage},
		{[]string{"dicom/", "--series", "0"}, viewArgs{}, errUsage},
		{[]string{"ct.nii", "--threads", "100000"}, viewArgs{}, errUsage},
		{[]string{"ct.nii", "--threads", "-1"}, viewArgs{}, errUsage},
	}
	for _, tt := range tests {
		got, err := parseViewArgs(tt.args, io.Discard)
		switch {
		case tt.wantErr == nil && err != nil:
			t.Errorf("parseViewArgs(%q): %v", tt.args, err)
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("parseViewArgs(%q) = %v, want a usage error", tt.args, err)
		case tt.wantErr == nil && !reflect.DeepEqual(got, withModelDefaults(tt.want)):
			t.Errorf("parseViewArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
	if _, err := parseViewArgs([]string{"--nope"}, io.Discard); err == nil {
		t.Error("an unknown flag was accepted")
	}
}

// withModelDefaults fills in the model options view uses when no flag
// names them.
func withModelDefaults(va viewArgs) viewArgs {
	if va.models.UNet == "" {
		va.models.UNet = app.DefaultUNet
	}
	if va.models.Runtime.Provider == "" {
		va.models.Runtime.Provider = onnxrt.ProviderAuto
	}
	return va
}

// TestExampleScan checks that the scan shown with no file has labels on
// its grid, as the session requires.
func TestExampleScan(t *testing.T) {
	v, l, err := example(context.Background(), app.ProgressFunc(func(float64, string) {}))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Grid.Equal(v.Grid, 1e-9) || l.Max() == 0 {
		t.Errorf("example labels: grid %v (scan %v), max label %d", l.Dims, v.Dims, l.Max())
	}
}

// TestOpensDataset: a dataset folder or a folder of NIfTI scans opens as a
// dataset, a DICOM series folder and a file as a scan.
func TestOpensDataset(t *testing.T) {
	ds := t.TempDir()
	if err := os.Mkdir(filepath.Join(ds, "imagesTr"), 0o755); err != nil {
		t.Fatal(err)
	}
	scans := t.TempDir()
	if err := os.WriteFile(filepath.Join(scans, "a.nii.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		va   viewArgs
		want bool
	}{
		{viewArgs{path: ds}, true},
		{viewArgs{path: scans}, true},
		{viewArgs{path: patientBDir}, false},
		{viewArgs{path: patientBDir, dataset: true}, true},
		{viewArgs{path: patientACT}, false},
		{viewArgs{path: scans, labels: "seg.nii.gz"}, false},
		{viewArgs{path: ds, caseID: "x"}, true},
	}
	for _, tt := range tests {
		if got := opensDataset(tt.va); got != tt.want {
			t.Errorf("opensDataset(%+v) = %v, want %v", tt.va, got, tt.want)
		}
	}
}
