package app

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

func TestAutosaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	scan := filepath.Join(dir, "ct.nii.gz")
	fallback := t.TempDir()

	s := New(Options{AutosaveDir: fallback})
	defer s.Close()
	if err := s.SetVolume(testVolume(0), scan); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Autosave(); p != "" || err != nil {
		t.Errorf("Autosave with nothing changed = %q, %v", p, err)
	}
	s.Paint("Paint", []int{0, 5, 900}, 5)
	p, err := s.Autosave()
	if err != nil {
		t.Fatal(err)
	}
	if want := scan + AutosaveSuffix; p != want {
		t.Errorf("autosave written to %s, want beside the scan: %s", p, want)
	}
	if p2, _ := s.Autosave(); p2 != "" {
		t.Errorf("second Autosave with no change wrote %s", p2)
	}
	assertNoTempFiles(t, dir)
	saved := labelsOf(s)

	tests := []struct {
		name  string
		vol   *volume.Volume
		found bool
	}{
		{"same scan", testVolume(0), true},
		{"other scan, same file name", testVolume(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Options{AutosaveDir: fallback})
			defer r.Close()
			if err := r.SetVolume(tt.vol, scan); err != nil {
				t.Fatal(err)
			}
			a := r.FindAutosave()
			if (a != nil) != tt.found {
				t.Fatalf("FindAutosave() = %+v, want found = %v", a, tt.found)
			}
			if a == nil {
				return
			}
			if a.Labelled != 3 {
				t.Errorf("autosave reports %d labelled voxels, want 3", a.Labelled)
			}
			if n, err := r.RestoreAutosave(a); err != nil || n != 3 {
				t.Fatalf("RestoreAutosave = %d, %v", n, err)
			}
			if !slices.Equal(labelsOf(r), saved) {
				t.Error("restored labels differ from the saved ones")
			}
			// Restoring is an edit like any other.
			r.Undo()
			if n := countNonZero(labelsOf(r)); n != 0 {
				t.Errorf("%d labelled voxels after undoing the restore", n)
			}
			if err := r.DiscardAutosave(); err != nil {
				t.Fatal(err)
			}
			if r.FindAutosave() != nil {
				t.Error("autosave still found after DiscardAutosave")
			}
		})
	}
}

func TestAutosaveFallsBackWhenTheScanFolderIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "archive")
	if err := os.Mkdir(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(readOnly, 0o755) })
	tests := []struct {
		name string
		scan string
	}{
		// Nothing can be created under a regular file, even by root.
		{"folder cannot exist", filepath.Join(blocker, "ct.nii.gz")},
		// Root could write here, but the folder says it is not for writing.
		{"folder marked read-only", filepath.Join(readOnly, "ct.nii.gz")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fallback := filepath.Join(t.TempDir(), "cache")
			s := New(Options{AutosaveDir: fallback})
			defer s.Close()
			s.SetVolume(testVolume(0), tt.scan)
			s.Paint("Paint", []int{1}, 2)
			p, err := s.Autosave()
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(p) != fallback {
				t.Errorf("autosave written to %s, want in %s", p, fallback)
			}
			if a := s.FindAutosave(); a == nil || a.Path != p {
				t.Errorf("FindAutosave() = %+v, want %s", a, p)
			}
		})
	}
	if entries, _ := os.ReadDir(readOnly); len(entries) != 0 {
		t.Errorf("%d files written into the read-only folder", len(entries))
	}
}

func TestReadAutosaveRejectsDamagedFiles(t *testing.T) {
	var good bytes.Buffer
	hdr := autosaveHeader{ScanHash: "x", Dims: [3]int{2, 2, 2}}
	if err := writeAutosave(&good, hdr, make([]uint16, 8)); err != nil {
		t.Fatal(err)
	}
	b := good.Bytes()
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"good", b, 8},
		{"wrong voxel count", b, 9},
		{"empty", nil, 8},
		{"not an autosave", []byte("hello\n"), 8},
		{"truncated voxels", b[:len(b)-10], 8},
		{"bad header", []byte(autosaveMagic + "{\"dims\":[0,1,1]}\n"), 8},
		{"huge dims", []byte(autosaveMagic + "{\"dims\":[100000,100000,100000]}\n"), 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, data, err := readAutosave(bytes.NewReader(tt.data), tt.want)
			if ok := tt.name == "good"; (err == nil) != ok {
				t.Fatalf("readAutosave: err = %v, want ok = %v", err, ok)
			}
			if err == nil && len(data) != 8 {
				t.Errorf("%d voxels read", len(data))
			}
		})
	}
}

func countNonZero(d []uint16) int {
	n := 0
	for _, v := range d {
		if v != 0 {
			n++
		}
	}
	return n
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func BenchmarkAutosave(b *testing.B) {
	s := New(Options{AutosaveDir: b.TempDir()})
	defer s.Close()
	g := volume.Grid{Dims: [3]int{512, 512, 100}, Affine: volume.Identity()}
	s.SetVolume(&volume.Volume{Grid: g, Data: make([]float32, g.Len())}, "")
	idx := make([]int, 200*200*40)
	for i := range idx {
		idx[i] = 30*512*512 + i
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		s.Paint("fill", idx, uint16(n%2+1))
		if _, err := s.Autosave(); err != nil {
			b.Fatal(err)
		}
	}
}
