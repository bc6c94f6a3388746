package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// TestOpenBadFiles opens damaged and wrong inputs through the session, as
// the app's Open does: each fails with an error naming the file, and the
// open scan and its labels stay as they were.
func TestOpenBadFiles(t *testing.T) {
	ct := realFile(t, "example_ct_sm.nii.gz")
	dir := t.TempDir()
	whole, err := os.ReadFile(ct)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	notDICOM := filepath.Join(dir, "notdicom")
	if err := os.Mkdir(notDICOM, 0o755); err != nil {
		t.Fatal(err)
	}
	write("notdicom/readme.txt", []byte("not a DICOM file"))
	// Patient B's series with one slice cut short, as an interrupted copy
	// leaves it: refused, naming that file (the app offers no override).
	gapped, broken := filepath.Join(dir, "gapped"), ""
	if err := os.Mkdir(gapped, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(realFile(t, "example_ct_dicom"))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		b, err := os.ReadFile(filepath.Join(realData, "example_ct_dicom", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if i == len(entries)/2 {
			b, broken = b[:len(b)/2], e.Name()
		}
		write(filepath.Join("gapped", e.Name()), b)
	}
	tests := []struct {
		name, path, want string
	}{
		{"DICOM series with an unreadable slice", gapped, broken},
		{"truncated gzip", write("trunc.nii.gz", whole[:len(whole)/3]), "trunc.nii.gz"},
		{"garbage", write("garbage.nii", []byte(strings.Repeat("\x17garbage", 100))), "garbage.nii"},
		{"empty file", write("empty.nii.gz", nil), "empty.nii.gz"},
		{"missing", filepath.Join(dir, "missing.nii.gz"), "missing.nii.gz"},
		{"empty folder", empty, "empty"},
		{"folder without DICOM", notDICOM, "notdicom"},
	}
	s := newTestSession(t, Options{})
	if _, err := s.Paint("Paint", []int{3, 4}, 5); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Volume()
	labels := labelsOf(s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Open(tt.path, volume.OpenOptions{}).Wait()
			if err == nil {
				t.Fatalf("opening %s succeeded", tt.path)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s", msg, tt.want)
			}
			if v, _ := s.Volume(); v != before {
				t.Error("a failed open replaced the open scan")
			}
			if got := labelsOf(s); got[3] != 5 || got[4] != 5 || len(got) != len(labels) {
				t.Error("a failed open changed the labels")
			}
		})
	}
}

// TestLoadBadLabels loads label volumes that cannot lie on the scan: each
// is refused with the file's name, and the labels stay as they were.
func TestLoadBadLabels(t *testing.T) {
	ct := realFile(t, "example_ct_sm.nii.gz")
	dir := t.TempDir()
	s := New(Options{AutosaveDir: t.TempDir()})
	defer s.Close()
	if err := s.Open(ct, volume.OpenOptions{}).Wait(); err != nil {
		t.Fatal(err)
	}
	v, _ := s.Volume()
	far := volume.NewLabels(v.Grid)
	far.Affine[0][3] += 1e4
	far.Data[0] = 5
	farPath := filepath.Join(dir, "far.nii.gz")
	if err := volume.WriteLabels(farPath, far, &volume.Volume{Grid: far.Grid}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path string }{
		{"scan as labels (not whole numbers)", ct},
		{"no overlap", farPath},
		{"missing", filepath.Join(dir, "missing.nii.gz")},
	}
	if _, err := s.Paint("Paint", []int{3}, 2); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.LoadLabels(tt.path)
			if err == nil {
				t.Fatalf("loading %s succeeded", tt.path)
			}
			if msg := err.Error(); !strings.Contains(msg, filepath.Base(tt.path)) {
				t.Errorf("error %q does not name %s", msg, tt.path)
			}
			if got := labelsOf(s); got[3] != 2 {
				t.Error("a failed load changed the labels")
			}
		})
	}
}

// TestOpenKeepsUnsavedLabels opens another scan while the labels have
// changes newer than the last autosave: they are autosaved before the scan
// is replaced, so that reopening the first scan offers them back; when they
// cannot be autosaved, the open fails and the first scan stays open.
func TestOpenKeepsUnsavedLabels(t *testing.T) {
	ct := realFile(t, "example_ct_sm.nii.gz")
	tests := []struct {
		name     string
		writable bool // the autosave folder can be made
	}{
		{"autosaved first", true},
		{"autosave fails", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if !tt.writable {
				// A file where the folder should be: MkdirAll fails, even as root.
				dir = filepath.Join(dir, "file")
				if err := os.WriteFile(dir, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := newTestSession(t, Options{AutosaveDir: dir})
			first, _ := s.Volume()
			if _, err := s.Paint("Paint", []int{3, 4}, 5); err != nil {
				t.Fatal(err)
			}
			err := s.Open(ct, volume.OpenOptions{}).Wait()
			if !tt.writable {
				if err == nil || !strings.Contains(err.Error(), "autosave") {
					t.Fatalf("open with unsaveable edits: error %v, want one about the autosave", err)
				}
				if v, _ := s.Volume(); v != first {
					t.Fatal("the scan with unsaved edits was replaced")
				}
				if got := labelsOf(s); got[3] != 5 || got[4] != 5 {
					t.Errorf("labels at 3, 4 = %d, %d, want 5, 5", got[3], got[4])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetVolume(testVolume(0), ""); err != nil {
				t.Fatal(err)
			}
			a := s.FindAutosave()
			if a == nil {
				t.Fatal("the edits made before opening another scan were not autosaved")
			}
			if _, err := s.RestoreAutosave(a); err != nil {
				t.Fatal(err)
			}
			if got := labelsOf(s); got[3] != 5 || got[4] != 5 {
				t.Errorf("restored labels at 3, 4 = %d, %d, want 5, 5", got[3], got[4])
			}
		})
	}
}

// TestExportRefusesBadPaths exports where it must not or cannot: over the
// open scan itself, into a missing folder. Each fails naming the path, the
// scan file is intact, and no temporary file is left.
func TestExportRefusesBadPaths(t *testing.T) {
	dir := t.TempDir()
	scan, err := os.ReadFile(realFile(t, "example_ct_sm.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	ct := filepath.Join(dir, "ct.nii.gz")
	if err := os.WriteFile(ct, scan, 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(Options{AutosaveDir: t.TempDir()})
	defer s.Close()
	if err := s.Open(ct, volume.OpenOptions{}).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paint("Paint", []int{3}, 5); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{"the scan itself", ct, "the open scan"},
		{"the scan by another name", dir + string(filepath.Separator) + "." + string(filepath.Separator) + "ct.nii.gz", "the open scan"},
		{"missing folder", filepath.Join(dir, "missing", "labels.nii.gz"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ExportLabels(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("export to %s: %v, want an error naming it with %q", tt.path, err, tt.want)
			}
			if b, err := os.ReadFile(ct); err != nil || string(b) != string(scan) {
				t.Fatalf("the scan file changed (%d bytes, %v)", len(b), err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("%d entries beside the scan, want 1 (no temporary file)", len(entries))
			}
		})
	}
}
