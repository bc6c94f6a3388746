package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/viewer"
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
	if filepath.Dir(p) != fallback || filepath.Base(p) != s.scanHash[:32]+AutosaveSuffix {
		t.Errorf("autosave written to %s, want %s named by the scan's hash", p, fallback)
	}
	if p2, _ := s.Autosave(); p2 != "" {
		t.Errorf("second Autosave with no change wrote %s", p2)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files written into the scan's folder", len(entries))
	}
	assertNoTempFiles(t, fallback)
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

// With no folder given, autosaves go to the user's state folder
// ($XDG_STATE_HOME/polyseg/autosave), not beside the scan.
func TestAutosaveGoesToTheStateFolder(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	scanDir := t.TempDir()
	s := New(Options{})
	defer s.Close()
	if err := s.SetVolume(testVolume(0), filepath.Join(scanDir, "ct.nii.gz")); err != nil {
		t.Fatal(err)
	}
	s.Paint("Paint", []int{1}, 2)
	p, err := s.Autosave()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(state, "polyseg", "autosave")
	if filepath.Dir(p) != want || s.AutosaveFolder() != want {
		t.Errorf("autosave written to %s (folder %s), want in %s", p, s.AutosaveFolder(), want)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("autosave %s: %v, mode %v, want 0600", p, err, st.Mode())
	}
	if entries, _ := os.ReadDir(scanDir); len(entries) != 0 {
		t.Errorf("%d files written beside the scan", len(entries))
	}
}

// An autosave an older polyseg wrote beside the scan is still offered, and
// the first autosave to the state folder replaces it.
func TestLegacyAutosaveIsMigrated(t *testing.T) {
	scanDir, folder := t.TempDir(), t.TempDir()
	scan := filepath.Join(scanDir, "ct.nii.gz")
	legacy := scan + AutosaveSuffix
	vol := testVolume(0)
	data := make([]uint16, vol.Len())
	data[7] = 3
	old := autosaveHeader{Scan: scan, ScanHash: scanHash(vol), Dims: vol.Dims, Affine: vol.Affine,
		Saved: time.Now().Add(-time.Hour).UTC(), Labelled: 1}
	var buf bytes.Buffer
	// Version 1: the format older polysegs wrote.
	if err := writeAutosaveV1(&buf, old, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(legacy, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// Another scan's autosave under the same name is not this scan's.
	other := filepath.Join(t.TempDir(), "ct.nii.gz")

	s := New(Options{AutosaveDir: folder})
	defer s.Close()
	if err := s.SetVolume(vol, scan); err != nil {
		t.Fatal(err)
	}
	a := s.FindAutosave()
	if a == nil || a.Path != legacy || !a.Legacy {
		t.Fatalf("FindAutosave() = %+v, want the legacy %s", a, legacy)
	}
	if _, err := s.RestoreAutosave(a); err != nil {
		t.Fatal(err)
	}
	if got := labelsOf(s); got[7] != 3 {
		t.Fatal("the legacy autosave's labels were not restored")
	}
	s.Paint("Paint", []int{8}, 3)
	p, err := s.Autosave()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacy); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the legacy autosave is still beside the scan after the new one was written (%v)", err)
	}
	if a := s.FindAutosave(); a == nil || a.Path != p || a.Legacy {
		t.Errorf("FindAutosave() = %+v after the migration, want %s", a, p)
	}
	if err := os.WriteFile(other+AutosaveSuffix, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r := New(Options{AutosaveDir: t.TempDir()})
	defer r.Close()
	if err := r.SetVolume(testVolume(1), other); err != nil {
		t.Fatal(err)
	}
	if a := r.FindAutosave(); a != nil {
		t.Errorf("another scan's autosave was offered: %+v", a)
	}
}

// writeAutosaveV1 writes the first format, as polyseg did before
// propagation records were kept.
func writeAutosaveV1(w *bytes.Buffer, hdr autosaveHeader, data []uint16) error {
	var v2 bytes.Buffer
	if err := writeAutosave(&v2, hdr, data); err != nil {
		return err
	}
	w.WriteString(autosaveMagicV1)
	w.Write(v2.Bytes()[len(autosaveMagic):])
	return nil
}

// The folder keeps the newest AutosaveKeep autosaves and none older than
// AutosaveMaxAge, the one just written always.
func TestAutosavesArePruned(t *testing.T) {
	folder := t.TempDir()
	now := time.Now()
	var names []string
	for n := range 6 {
		name := filepath.Join(folder, fmt.Sprintf("%032d%s", n, AutosaveSuffix))
		if err := os.WriteFile(name, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name+ProvenanceSuffix, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		// n days old: 0 .. 5.
		mod := now.Add(-time.Duration(n) * 24 * time.Hour)
		os.Chtimes(name, mod, mod)
		names = append(names, name)
	}
	notMine := filepath.Join(folder, "notes.txt")
	os.WriteFile(notMine, nil, 0o600)

	s := New(Options{AutosaveDir: folder, AutosaveKeep: 4, AutosaveMaxAge: 4*24*time.Hour + time.Hour})
	defer s.Close()
	if err := s.SetVolume(testVolume(0), ""); err != nil {
		t.Fatal(err)
	}
	s.Paint("Paint", []int{1}, 2)
	p, err := s.Autosave()
	if err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	// Kept: the new one and the 3 newest others (0, 1, 2 days old); 3 is
	// beyond the count, 5 beyond the age too.
	for n, name := range names {
		if want := n < 3; exists(name) != want || exists(name+ProvenanceSuffix) != want {
			t.Errorf("autosave %d days old kept %v, want %v", n, exists(name), want)
		}
	}
	if !exists(p) || !exists(notMine) {
		t.Error("pruning removed the new autosave or a file that is not an autosave")
	}
}

// The propagation records travel with the autosave: restoring it brings
// back the confidence strip and the doubtful slices.
func TestAutosaveKeepsPropagationRecords(t *testing.T) {
	folder := t.TempDir()
	s := New(Options{AutosaveDir: folder})
	defer s.Close()
	if err := s.SetVolume(testVolume(0), ""); err != nil {
		t.Fatal(err)
	}
	s.Paint("Paint", []int{1, 2, 3}, 5)
	s.mu.Lock()
	s.props.records = map[uint16]*propRecord{5: {
		anchors:    []int{4},
		confidence: map[int]float64{2: 0.91, 3: 0.05, 4: 1, 5: math.NaN(), 6: 0},
		notes:      map[int]string{3: "IoU 0.05: leaked"},
		reasons:    map[int]string{6: propagate.BeyondEndReason},
		unchecked:  map[int]bool{6: true},
		engine:     "sam", provider: "cpu",
	}}
	s.mu.Unlock()
	if _, err := s.Autosave(); err != nil {
		t.Fatal(err)
	}
	want := s.Confidence(viewer.Axial, 5)

	r := New(Options{AutosaveDir: folder})
	defer r.Close()
	if err := r.SetVolume(testVolume(0), ""); err != nil {
		t.Fatal(err)
	}
	if len(r.Confidence(viewer.Axial, 5)) > 0 && !math.IsNaN(r.Confidence(viewer.Axial, 5)[3].Confidence) {
		t.Fatal("a fresh session has a confidence already: the test shows nothing")
	}
	a := r.FindAutosave()
	if a == nil {
		t.Fatal("no autosave")
	}
	if _, err := r.RestoreAutosave(a); err != nil {
		t.Fatal(err)
	}
	got := r.Confidence(viewer.Axial, 5)
	same := func(a, b SliceConfidence) bool {
		return a.Slice == b.Slice && a.Anchor == b.Anchor && a.Note == b.Note && a.Unchecked == b.Unchecked && a.Doubtful == b.Doubtful && a.Reason == b.Reason &&
			(a.Confidence == b.Confidence || math.IsNaN(a.Confidence) && math.IsNaN(b.Confidence))
	}
	if !slices.EqualFunc(got, want, same) {
		t.Errorf("restored confidence %v, want %v", got, want)
	}
	if k, ok := r.NextDoubtful(viewer.Axial, 5, 0, 1); !ok || k.Slice != 3 {
		t.Errorf("NextDoubtful after the restore = %+v, %v, want slice 3", k, ok)
	}
	if !got[6].Unchecked || !got[6].Doubtful {
		t.Errorf("slice 6, flagged past a chain's end, restored as %+v", got[6])
	}
	// Decided: 2, 3 and 4 (a NaN has no record; 6 was flagged, not decided).
	if sum, ok := r.Propagation(5); !ok || sum.Engine != "sam" || sum.Doubtful != 2 || sum.Slices != 3 {
		t.Errorf("Propagation(5) after the restore = %+v, %v", sum, ok)
	}
	// Drawing the organ on the flagged slice answers its question.
	r.Paint("Paint", []int{6*12*10 + 5}, 5)
	if c := r.Confidence(viewer.Axial, 5)[6]; c.Doubtful || c.Unchecked || !math.IsNaN(c.Confidence) {
		t.Errorf("slice 6 after drawing the organ there: %+v; want it no longer flagged", c)
	}
	if sum, _ := r.Propagation(5); sum.Doubtful != 1 || sum.Slices != 3 {
		t.Errorf("Propagation(5) after drawing on the flagged slice = %+v; want 1 doubtful of 3", sum)
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
		{"header cut short", []byte(autosaveMagic + "{\"dims\":[2,2,2]"), 8},
		{"version 1 header too long", []byte(autosaveMagicV1 + "{\"scan\":\"" + strings.Repeat("x", maxHeaderLengthV1) + "\"}\n"), 8},
		{"unknown version", []byte("polyseg-autosave 3\n{}\n"), 8},
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

// FuzzReadAutosave feeds readAutosave arbitrary files: it returns an error
// or a volume of the size asked for, never panics, and allocates no more
// than the header's checked dimensions allow.
func FuzzReadAutosave(f *testing.F) {
	for _, hdr := range []autosaveHeader{
		{ScanHash: "x", Dims: [3]int{2, 2, 2}},
		{ScanHash: "y", Dims: [3]int{2, 2, 2}, Propagation: []autosaveProp{{Label: 5, Anchors: []int{1},
			Confidence: map[int]float64{0: 0.5}, Notes: map[int]string{0: "note"}}}},
	} {
		var b bytes.Buffer
		if err := writeAutosave(&b, hdr, make([]uint16, 8)); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
		var v1 bytes.Buffer
		writeAutosaveV1(&v1, hdr, make([]uint16, 8))
		f.Add(v1.Bytes())
	}
	f.Add([]byte(autosaveMagic + "{\"dims\":[1,1,1]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		_, out, err := readAutosave(bytes.NewReader(data), 8)
		if err == nil && len(out) != 8 {
			t.Fatalf("%d voxels read, want 8", len(out))
		}
	})
}
