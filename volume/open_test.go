package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	needPatientB(t)
	entries, err := os.ReadDir(patientB)
	if err != nil {
		t.Fatal(err)
	}
	oneFile := filepath.Join(patientB, entries[7].Name())
	links := t.TempDir()
	for _, e := range entries {
		abs, err := filepath.Abs(filepath.Join(patientB, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(links, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(links, "subfolder"), 0o755); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name     string
		path     string
		opt      OpenOptions
		wantDims [3]int
		wantErr  string
	}{
		{name: "DICOM folder", path: patientB, wantDims: [3]int{512, 512, 20}},
		{name: "folder of links, subfolder ignored", path: links, wantDims: [3]int{512, 512, 20}},
		{name: "one DICOM file opens its series", path: oneFile, wantDims: [3]int{512, 512, 20}},
		{name: "DICOM file and its series index", path: oneFile, opt: OpenOptions{DICOM: DICOMOptions{SeriesIndex: 1}}, wantDims: [3]int{512, 512, 20}},
		{name: "DICOM file and another series", path: oneFile, opt: OpenOptions{DICOM: DICOMOptions{SeriesIndex: 2}}, wantErr: "not to the series chosen"},
		{name: "NIfTI", path: "../../shared/data/real/totalsegmentator/example_ct_sm.nii.gz", wantDims: [3]int{122, 101, 30}},
		{name: "neither", path: notes, wantErr: notes + ": not a NIfTI file (.nii, .nii.gz), a NRRD file (.nrrd, .nhdr), a DICOM file or a folder"},
		{name: "missing", path: notes + ".gone", wantErr: "open " + notes + ".gone: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Open(ctx, tc.path, tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Dims != tc.wantDims {
				t.Errorf("dims %v, want %v", v.Dims, tc.wantDims)
			}
		})
	}
}
