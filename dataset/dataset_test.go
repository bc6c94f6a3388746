package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

var ctx = context.Background()

// lpsGrid is a small grid in the voxel order a DICOM series has.
var lpsGrid = volume.Grid{Dims: [3]int{16, 12, 8}, Affine: volume.Affine{
	{-0.8, 0, 0, 40}, {0, -0.8, 0, 30}, {0, 0, 2.5, -100}, {0, 0, 0, 1}}}

// synthScan returns a scan on g with whole-number HU that vary by voxel.
func synthScan(g volume.Grid) *volume.Volume {
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		v.Data[i] = float32(i%97 - 40)
	}
	return v
}

// synthLabels returns labels on g: value vals[n] in slab n along k.
func synthLabels(g volume.Grid, vals ...uint16) *volume.Labels {
	l := volume.NewLabels(g)
	for k := range g.Dims[2] {
		if k >= len(vals) {
			break
		}
		for j := 2; j < g.Dims[1]-2; j++ {
			for i := 3; i < g.Dims[0]-3; i++ {
				l.Data[g.Index(i, j, k)] = vals[k]
			}
		}
	}
	return l
}

// newSynth makes an nnU-Net dataset with cases a (labels 1 and 5) and b
// (no labels yet).
func newSynth(t *testing.T) *Dataset {
	t.Helper()
	d, err := Init(ctx, filepath.Join(t.TempDir(), "ds"), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	scan := synthScan(lpsGrid)
	if _, err := d.AddCase(ctx, "a", scan, synthLabels(lpsGrid, 1, 1, 5, 5), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddCase(ctx, "b", scan, nil, nil); err != nil {
		t.Fatal(err)
	}
	return d
}

func mustCheck(t *testing.T, d *Dataset) *Report {
	t.Helper()
	r, err := d.Check(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestInitAddOpen(t *testing.T) {
	d := newSynth(t)
	if d.Name() != "ds" {
		t.Errorf("name %q, want the folder's", d.Name())
	}
	d2, err := Open(ctx, d.Dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Layout != NNUNet || len(d2.Cases) != 2 || d2.Cases[0].ID != "a" || d2.Cases[1].ID != "b" {
		t.Fatalf("reopened: %v, %+v", d2.Layout, d2.Cases)
	}
	a := d2.Cases[0]
	if !reflect.DeepEqual(a.Images, []string{filepath.Join(d.Dir, "imagesTr", "a_0000.nii.gz")}) ||
		a.Label != filepath.Join(d.Dir, "labelsTr", "a.nii.gz") || !a.Labeled {
		t.Errorf("case a: %+v", a)
	}
	want := []Label{{0, "background"}, {1, "spleen"}, {2, "kidney_right"}, {3, "kidney_left"}, {4, "gallbladder"}, {5, "liver"}}
	if got := d2.Labels(); !reflect.DeepEqual(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	desc := d2.Description()
	if desc.NumTraining != 2 || desc.FileEnding != ".nii.gz" || !reflect.DeepEqual(desc.Channels, []Channel{{0, "CT"}}) {
		t.Errorf("dataset.json: %+v", desc)
	}
	r := mustCheck(t, d2)
	if !r.OK() {
		t.Errorf("check: %v", r.Problems)
	}
	if len(r.Notes) != 1 || r.Notes[0].Case != "b" || !strings.Contains(r.Notes[0].What, "only background") {
		t.Errorf("notes %v, want b's background only", r.Notes)
	}
	// The image and labels read back as written.
	v, l, _, err := d2.OpenCase(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Grid.Equal(lpsGrid, 1e-5) || !slices.Equal(v.Data, synthScan(lpsGrid).Data) || !slices.Equal(l.Data, synthLabels(lpsGrid, 1, 1, 5, 5).Data) {
		t.Error("case a read back differs from what was added")
	}

	if _, err := Init(ctx, d.Dir, "", Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("Init over a dataset: %v, want ErrExists", err)
	}
	if _, err := d2.AddCase(ctx, "a", v, nil, nil); !errors.Is(err, ErrExists) {
		t.Errorf("adding a again: %v, want ErrExists", err)
	}
	for _, id := range []string{"", "a.b", "a/b", "ü", strings.Repeat("x", 101)} {
		if _, err := d2.AddCase(ctx, id, v, nil, nil); err == nil || !strings.Contains(err.Error(), "case ID") {
			t.Errorf("AddCase(%q): %v, want an invalid ID", id, err)
		}
	}
	other := lpsGrid
	other.Affine[0][3] += 5
	if _, err := d2.AddCase(ctx, "c", v, volume.NewLabels(other), nil); err == nil || !strings.Contains(err.Error(), "resample") {
		t.Errorf("AddCase with labels on another grid: %v", err)
	}
	if _, ok := d2.Case("c"); ok || exists(filepath.Join(d.Dir, "imagesTr", "c_0000.nii.gz")) {
		t.Error("a refused case left files or an entry")
	}
}

func TestMakeID(t *testing.T) {
	for in, want := range map[string]string{
		"scan.nii.gz": "scan", "/a/b/CT 1.nii": "CT_1", "dir/example_ct_dicom/": "example_ct_dicom",
		"x.y.nii.gz": "x_y", "...": "case", "Überblick.nii.gz": "berblick",
	} {
		if got := MakeID(in); got != want || ValidID(got) != nil {
			t.Errorf("MakeID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSaveLabels(t *testing.T) {
	d := newSynth(t)
	l, err := d.Acquire("a")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if _, err := d.Acquire("a"); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire: %v", err)
	}
	scan, _, _, err := d.OpenCase(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	names, err := assets.NewColorTable([]assets.Label{{Value: 5, Name: "LIVER_RENAMED"}, {Value: 9, Name: "tumour"}})
	if err != nil {
		t.Fatal(err)
	}
	labels := synthLabels(lpsGrid, 1, 5, 9, 0, 5)
	if err := l.SaveLabels(ctx, labels, scan, names); err != nil {
		t.Fatal(err)
	}
	got, err := volume.ReadLabelsNIfTI(filepath.Join(d.Dir, "labelsTr", "a.nii.gz"))
	if err != nil || !slices.Equal(got.Data, labels.Data) || !got.Grid.Equal(lpsGrid, 1e-5) {
		t.Fatalf("saved labels read back: %v", err)
	}
	d2, _ := Open(ctx, d.Dir, Options{})
	names2 := d2.Description().names()
	// 5 keeps its declared name; 9 is named by the caller; 6 to 8 fill
	// the gap from the default table.
	if names2[5] != "liver" || names2[9] != "tumour" || names2[6] != "stomach" || len(names2) != 10 {
		t.Errorf("labels after the save: %v", names2)
	}
	st, err := d.State("a")
	if err != nil || st.Status != InProgress || st.User != l.Holder().User || st.Host != l.Holder().Host {
		t.Errorf("state after the save: %+v, %v", st, err)
	}
	if r := mustCheck(t, d2); !r.OK() {
		t.Errorf("check after the save: %v", r.Problems)
	}
	// Labels for another grid are refused, naming both grids.
	other := lpsGrid
	other.Dims[2] = 9
	err = l.SaveLabels(ctx, volume.NewLabels(other), scan, nil)
	if err == nil || !strings.Contains(err.Error(), "16x12x9") {
		t.Errorf("labels on another grid: %v", err)
	}
	for _, e := range must(os.ReadDir(filepath.Join(d.Dir, "labelsTr"))) {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestLostLockRefusesSave: a lock taken over by another process (the
// holder looked gone) makes every later write of the old holder fail,
// leaving the new holder's files alone.
func TestLostLockRefusesSave(t *testing.T) {
	d := newSynth(t)
	l, err := d.Acquire("a")
	if err != nil {
		t.Fatal(err)
	}
	scan, before, _, _ := d.OpenCase(ctx, "a")
	thief := Holder{User: "thief", Host: "elsewhere", PID: 1, Token: "thief", Since: time.Now()}
	lockFile := d.lockPath("a")
	os.Remove(lockFile)
	b, _ := json.Marshal(thief)
	os.WriteFile(lockFile, b, 0o644)

	err = l.SaveLabels(ctx, synthLabels(lpsGrid, 2, 2), scan, nil)
	if !errors.Is(err, ErrLost) || !strings.Contains(err.Error(), "thief") {
		t.Fatalf("save after the lock was taken: %v, want ErrLost naming the thief", err)
	}
	if _, err := l.UpdateState(func(s *State) { s.Note = "mine" }); !errors.Is(err, ErrLost) {
		t.Errorf("state update after the lock was taken: %v", err)
	}
	_, after, _, _ := d.OpenCase(ctx, "a")
	if !slices.Equal(before.Data, after.Data) {
		t.Error("the labels changed although the lock was lost")
	}
	if err := l.Release(); !errors.Is(err, ErrLost) {
		t.Errorf("Release: %v", err)
	}
	if !exists(lockFile) {
		t.Error("Release removed the thief's lock")
	}
}

func TestStateAndWorklist(t *testing.T) {
	d := newSynth(t)
	l, err := d.Acquire("b")
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.UpdateState(func(s *State) {
		s.Status = NeedsReview
		s.EditTime += 90*time.Second + 250*time.Millisecond
		s.Note = "check the left kidney\nand the spleen"
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.UpdateState(func(s *State) { s.Status = "finished" }); err == nil {
		t.Error("an unknown status was written")
	}
	got, err := d.State("b")
	if err != nil || got.Status != NeedsReview || got.EditTime != s.EditTime || got.Note != s.Note || got.User == "" || got.Updated.IsZero() {
		t.Errorf("state read back: %+v (%v), want %+v", got, err, s)
	}
	w := d.Worklist()
	if len(w) != 2 || w[0].State.Status != ToDo || w[0].Lock.Held || w[1].State.Status != NeedsReview || !w[1].Lock.Held ||
		w[1].Lock.Holder.PID != os.Getpid() || w[1].Lock.Stale {
		t.Errorf("worklist %+v", w)
	}
	l.Release()
	// A state file damaged by hand is reported, not taken for "to do".
	os.WriteFile(d.statePath("a"), []byte(`{"status": "finished"}`), 0o644)
	if w := d.Worklist(); w[0].Err == nil || !strings.Contains(w[0].Err.Error(), "finished") {
		t.Errorf("damaged state: %+v", w[0])
	}
	for in, want := range map[string]Status{"to do": ToDo, "TODO": ToDo, "needs review": NeedsReview, "in_progress": InProgress, " Done ": Done} {
		if got, err := ParseStatus(in); got != want || err != nil {
			t.Errorf("ParseStatus(%q) = %v, %v", in, got, err)
		}
	}
	if ToDo.String() != "to do" || NeedsReview.String() != "needs review" {
		t.Error("status names")
	}
}

func TestDeclareLabels(t *testing.T) {
	names, _ := assets.NewColorTable([]assets.Label{{Value: 3, Name: "liver"}, {Value: 4, Name: "mine"}})
	tests := []struct {
		name   string
		json   string
		values []uint16
		want   map[uint16]string
		err    string
	}{
		{"fills the gaps", `{"labels": {"background": 0}}`, []uint16{0, 2}, map[uint16]string{0: "background", 1: "spleen", 2: "kidney_right"}, ""},
		{"no background yet", `{"labels": {}}`, []uint16{1}, map[uint16]string{0: "background", 1: "spleen"}, ""},
		// 3 is "liver" to the caller, but "liver" already names 5.
		{"unique names", `{"labels": {"background": 0, "liver": 5}}`, []uint16{3, 4}, map[uint16]string{0: "background", 1: "spleen", 2: "kidney_right", 3: "liver_3", 4: "mine", 5: "liver"}, ""},
		{"beyond the table", `{"labels": {"background": 0}}`, []uint16{200}, nil, ""},
		{"regions", `{"labels": {"background": 0, "r": [1, 2]}}`, []uint16{3}, nil, "regions"},
		{"ignore", `{"labels": {"background": 0, "a": 1, "ignore": 2}}`, []uint16{3}, nil, "ignore label"},
		{"below ignore", `{"labels": {"background": 0, "ignore": 3}}`, []uint16{1}, map[uint16]string{0: "background", 1: "spleen", 2: "kidney_right", 3: "ignore"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDescription([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = declareLabels(d, tc.values, names)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := d.names()
			if tc.want == nil {
				if len(got) != 201 || got[200] != "label_200" || got[117] != "costal_cartilages" {
					t.Errorf("got %d labels, 200 %q", len(got), got[200])
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// writeMSD writes a Decathlon dataset by hand: two cases with labels 0, 1
// and 5 (not consecutive), and a member of its own in each entry.
func writeMSD(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Task99")
	for _, sub := range []string{"imagesTr", "labelsTr", "imagesTs"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	scan := synthScan(lpsGrid)
	for _, id := range []string{"x_1", "x_2"} {
		if err := volume.WriteNIfTI(filepath.Join(dir, "imagesTr", id+".nii.gz"), scan); err != nil {
			t.Fatal(err)
		}
		if err := volume.WriteLabels(filepath.Join(dir, "labelsTr", id+".nii.gz"), synthLabels(lpsGrid, 1, 5), scan); err != nil {
			t.Fatal(err)
		}
	}
	js := `{"name": "Task99", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen", "5": "liver"},
	"numTraining": 2, "numTest": 0, "training": [
	{"image": "./imagesTr/x_1.nii.gz", "label": "./labelsTr/x_1.nii.gz", "seed": 1},
	{"image": "./imagesTr/x_2.nii.gz", "label": "./labelsTr/x_2.nii.gz", "seed": 2}], "test": []}`
	os.WriteFile(filepath.Join(dir, "dataset.json"), []byte(js), 0o644)
	return dir
}

func TestMSD(t *testing.T) {
	dir := writeMSD(t)
	d, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Layout != MSD || len(d.Cases) != 2 || d.Cases[1].ID != "x_2" || d.Cases[1].Images[0] != filepath.Join(dir, "imagesTr", "x_2.nii.gz") {
		t.Fatalf("%v %+v", d.Layout, d.Cases)
	}
	r := mustCheck(t, d)
	if !r.OK() || len(r.Notes) != 1 || !strings.Contains(r.Notes[0].What, "consecutive") {
		t.Errorf("check: problems %v, notes %v; want OK with a note on consecutive labels", r.Problems, r.Notes)
	}
	// Saving and adding keep the Decathlon's dialect and the entries'
	// own members.
	l, err := d.Acquire("x_1")
	if err != nil {
		t.Fatal(err)
	}
	scan, labels, _, err := d.OpenCase(ctx, "x_1")
	if err != nil {
		t.Fatal(err)
	}
	labels.Data[0] = 7
	if err := l.SaveLabels(ctx, labels, scan, nil); err != nil {
		t.Fatal(err)
	}
	l.Release()
	if _, err := d.AddCase(ctx, "x_3", scan, nil, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "dataset.json"))
	for _, want := range []string{`"7": "pancreas"`, `"5": "liver"`, `"seed": 2`, `"numTraining": 3`, `"./imagesTr/x_3.nii.gz"`, `"numTest": 0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("dataset.json lacks %s:\n%s", want, b)
		}
	}
	d2, _ := Open(ctx, dir, Options{})
	if r := mustCheck(t, d2); !r.OK() || len(r.Notes) != 1 {
		t.Errorf("check after the changes: %v %v", r.Problems, r.Notes)
	}
}

func TestPlain(t *testing.T) {
	dir := t.TempDir()
	scan := synthScan(lpsGrid)
	write := func(name string, labels bool) {
		p := filepath.Join(dir, name)
		var err error
		if labels {
			err = volume.WriteLabels(p, synthLabels(lpsGrid, 1), scan)
		} else {
			err = volume.WriteNIfTI(p, scan)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	write("s1.nii.gz", false)
	write("s1_seg.nii.gz", true)
	write("s2.nii", false)
	write("liver_mask.nii.gz", true) // no liver.nii.gz: a case of its own
	write("s 3.nii.gz", false)       // becomes s_3 ...
	write("s_3.nii", false)          // ... as this one does: s_3_2
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("notes"), 0o644)
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	realB := filepath.Join("..", "..", "shared", "data", "real", "totalsegmentator")
	withB := exists(filepath.Join(realB, "example_ct_dicom"))
	if withB {
		abs, _ := filepath.Abs(realB)
		os.Symlink(filepath.Join(abs, "example_ct_dicom"), filepath.Join(dir, "ctB"))
		os.Symlink(filepath.Join(abs, "example_seg_dicom.nii.gz"), filepath.Join(dir, "ctB_labels.nii.gz"))
	}
	d, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range d.Cases {
		ids = append(ids, c.ID)
	}
	want := []string{"liver_mask", "s 3", "s1", "s2", "s_3"}
	if withB {
		want = append([]string{"ctB"}, want...)
	}
	if d.Layout != Plain || !slices.Equal(ids, want) {
		t.Fatalf("plain folder: %v %v, want %v", d.Layout, ids, want)
	}
	s1, _ := d.Case("s1")
	if s1.Label != filepath.Join(dir, "s1_seg.nii.gz") || !s1.Labeled {
		t.Errorf("s1's label: %+v", s1)
	}
	if c, _ := d.Case("s2"); c.Labeled || c.Label != "" {
		t.Errorf("s2 has no label: %+v", c)
	}
	if withB {
		c, _ := d.Case("ctB")
		if c.Images[0] != filepath.Join(dir, "ctB") || c.Label != filepath.Join(dir, "ctB_labels.nii.gz") {
			t.Errorf("ctB: %+v", c)
		}
	}
	if _, err := d.Acquire("s1"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Acquire in a plain folder: %v", err)
	}
	if _, err := d.AddCase(ctx, "s3", scan, nil, nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("AddCase in a plain folder: %v", err)
	}
	if r := mustCheck(t, d); r.OK() || !strings.Contains(r.Problems[0].What, "dataset init") {
		t.Errorf("check of a plain folder: %v", r.Problems)
	}
	if exists(filepath.Join(dir, StateDir)) {
		t.Error("opening a plain folder wrote into it")
	}

	// Converted into a dataset, the synthetic cases come with their labels.
	delete := func(id string) { d.Cases = slices.DeleteFunc(d.Cases, func(c Case) bool { return c.ID == id }) }
	delete("ctB") // the real patient's import is the command line's test
	dst, err := Init(ctx, filepath.Join(t.TempDir(), "conv"), "conv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var results []ImportResult
	if err := dst.Import(ctx, d, nil, func(r ImportResult) { results = append(results, r) }); err != nil {
		t.Fatal(err)
	}
	if len(results) != 5 || len(dst.Cases) != 5 || results[1].ID != "s_3" || results[4].ID != "s_3_2" {
		t.Fatalf("import: %+v", results)
	}
	_, l, _, err := dst.OpenCase(ctx, "s1")
	if err != nil || !slices.Equal(l.Data, synthLabels(lpsGrid, 1).Data) {
		t.Errorf("s1's labels after import: %v", err)
	}
	if r := mustCheck(t, dst); !r.OK() {
		t.Errorf("check after import: %v", r.Problems)
	}
	// Run again, every case is there already.
	results = nil
	if err := dst.Import(ctx, d, nil, func(r ImportResult) { results = append(results, r) }); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !errors.Is(r.Err, ErrExists) {
			t.Errorf("second import of %s: %v", r.ID, r.Err)
		}
	}
}

// TestCheckProblems breaks copies of a good dataset one way each and
// checks that Check names the case, the file and the problem.
func TestCheckProblems(t *testing.T) {
	good := newSynth(t)
	scan := synthScan(lpsGrid)
	editJSON := func(t *testing.T, dir string, fn func(m map[string]any)) {
		p := filepath.Join(dir, "dataset.json")
		var m map[string]any
		json.Unmarshal(must(os.ReadFile(p)), &m)
		fn(m)
		os.WriteFile(p, must(json.Marshal(m)), 0o644)
	}
	tests := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   []string // substrings of one problem each
	}{
		{"label on another grid", func(t *testing.T, dir string) {
			g := lpsGrid
			g.Affine[1][1] = 0.8 // LAS instead of LPS
			g.Affine[1][3] = -30
			volume.WriteLabels(filepath.Join(dir, "labelsTr/a.nii.gz"), synthLabels(g, 1), &volume.Volume{Grid: g})
		}, []string{"case a: labelsTr/a.nii.gz: label file not on its image's grid: origin (40, -30, -100) mm, not (40, 30, -100); direction"}},
		{"label of another shape", func(t *testing.T, dir string) {
			g := lpsGrid
			g.Dims[0] = 15
			volume.WriteLabels(filepath.Join(dir, "labelsTr/a.nii.gz"), synthLabels(g, 1), &volume.Volume{Grid: g})
		}, []string{"case a: labelsTr/a.nii.gz: label file not on its image's grid: shape 15x12x8, not 16x12x8"}},
		{"label spacing", func(t *testing.T, dir string) {
			g := lpsGrid
			g.Affine[2][2] = 3
			volume.WriteLabels(filepath.Join(dir, "labelsTr/a.nii.gz"), synthLabels(g, 1), &volume.Volume{Grid: g})
		}, []string{"spacing 0.8 x 0.8 x 3 mm, not 0.8 x 0.8 x 2.5"}},
		{"undeclared value", func(t *testing.T, dir string) {
			volume.WriteLabels(filepath.Join(dir, "labelsTr/b.nii.gz"), synthLabels(lpsGrid, 9, 300), scan)
		}, []string{"case b: labelsTr/b.nii.gz: label values not declared in dataset.json: 9 (80 voxels), 300 (80 voxels)"}},
		{"missing label", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "labelsTr/a.nii.gz"))
		}, []string{"case a: labelsTr/a.nii.gz: label file missing"}},
		{"stray files", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "imagesTr/notes.txt"), nil, 0o644)
			os.WriteFile(filepath.Join(dir, "imagesTr/c.nii.gz"), nil, 0o644)
			os.WriteFile(filepath.Join(dir, "labelsTr/z.nii.gz"), nil, 0o644)
			os.Mkdir(filepath.Join(dir, "labelsTr/old"), 0o755)
		}, []string{"imagesTr/notes.txt: stray file: not a .nii.gz file", "imagesTr/c.nii.gz: stray file: image files must be named CASE_XXXX.nii.gz",
			"labelsTr/z.nii.gz: stray file: a label file without an image", "labelsTr/old: stray folder"}},
		{"unreadable image", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "imagesTr/b_0000.nii.gz")
			b := must(os.ReadFile(p))
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, []string{"case b: imagesTr/b_0000.nii.gz: unreadable image:"}},
		{"unreadable label", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "labelsTr/a.nii.gz"), []byte("not a NIfTI file"), 0o644)
		}, []string{"case a: labelsTr/a.nii.gz: unreadable label file:"}},
		{"probabilities for labels", func(t *testing.T, dir string) {
			v := synthScan(lpsGrid)
			v.Data[5] = 0.5
			volume.WriteNIfTI(filepath.Join(dir, "labelsTr/a.nii.gz"), v)
		}, []string{"case a: labelsTr/a.nii.gz: unreadable label file: label value -40 at voxel (0, 0, 0)"}},
		{"NaN in an image", func(t *testing.T, dir string) {
			v := synthScan(lpsGrid)
			v.Data[lpsGrid.Index(2, 3, 4)] = float32(math.NaN())
			volume.WriteNIfTI(filepath.Join(dir, "imagesTr/a_0000.nii.gz"), v)
		}, []string{"case a: imagesTr/a_0000.nii.gz: 1 voxels are NaN or infinite (the first at voxel (2, 3, 4))"}},
		{"numTraining", func(t *testing.T, dir string) {
			editJSON(t, dir, func(m map[string]any) { m["numTraining"] = 3 })
		}, []string{"dataset.json: numTraining is 3 but there are 2 cases"}},
		{"labels not consecutive", func(t *testing.T, dir string) {
			editJSON(t, dir, func(m map[string]any) { delete(m["labels"].(map[string]any), "kidney_left") })
		}, []string{"dataset.json: labels must be consecutive (0, 1, 2, ...) as nnU-Net requires: 4 (gallbladder) follows 2"}},
		{"no background", func(t *testing.T, dir string) {
			editJSON(t, dir, func(m map[string]any) { delete(m["labels"].(map[string]any), "background") })
		}, []string{`dataset.json: labels: nnU-Net needs "background": 0`, "label values not declared in dataset.json: 0"}},
		{"missing members", func(t *testing.T, dir string) {
			editJSON(t, dir, func(m map[string]any) { delete(m, "file_ending"); delete(m, "channel_names") })
		}, []string{"dataset.json: missing required members: channel_names, file_ending"}},
		{"a channel missing", func(t *testing.T, dir string) {
			editJSON(t, dir, func(m map[string]any) { m["channel_names"] = map[string]any{"0": "CT", "1": "PET"} })
		}, []string{"case a: channel files missing for the 2 channels of channel_names: a_0001.nii.gz"}},
		{"an extra channel", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "imagesTr")
			os.WriteFile(filepath.Join(p, "b_0001.nii.gz"), must(os.ReadFile(filepath.Join(p, "b_0000.nii.gz"))), 0o644)
		}, []string{"case b: channel files beyond the 1 channels of channel_names: b_0001.nii.gz"}},
		{"a channel on another grid", func(t *testing.T, dir string) {
			editJSON(t, dir, func(m map[string]any) { m["channel_names"] = map[string]any{"0": "CT", "1": "PET"} })
			g := lpsGrid
			g.Affine[0][3] = 41
			for _, id := range []string{"a", "b"} {
				volume.WriteNIfTI(filepath.Join(dir, "imagesTr", id+"_0001.nii.gz"), synthScan(g))
			}
		}, []string{"case a: imagesTr/a_0001.nii.gz: channel not on the grid of imagesTr/a_0000.nii.gz: origin (41, 30, -100) mm"}},
		{"interrupted add", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "polyseg/pending/c.json"), []byte(`{"op": "add"}`), 0o644)
		}, []string{"case c: polyseg/pending/c.json: an add of this case was interrupted"}},
		{"file_ending not NIfTI", func(t *testing.T, dir string) {
			editJSON(t, dir, func(m map[string]any) { m["file_ending"] = ".nrrd" })
		}, []string{`dataset.json: file_ending ".nrrd": polyseg reads NIfTI`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ds")
			copyDir(t, good.Dir, dir)
			tc.break_(t, dir)
			d, err := Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := mustCheck(t, d)
			var got []string
			for _, p := range r.Problems {
				got = append(got, p.String())
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no problem says %q; problems:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if r.OK() {
				t.Error("the check passed")
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dataset.json"), []byte(`{"labels": {"background": "x"}}`), 0o644)
	_, err := Open(ctx, dir, Options{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "dataset.json")) || !errors.Is(err, ErrJSON) {
		t.Errorf("bad dataset.json: %v", err)
	}
	if _, err := Open(ctx, filepath.Join(dir, "nope"), Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := Open(ctx, filepath.Join(dir, "dataset.json"), Options{}); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a file: %v", err)
	}
	// imagesTr without dataset.json: an nnU-Net layout missing its file.
	dir2 := t.TempDir()
	os.Mkdir(filepath.Join(dir2, "imagesTr"), 0o755)
	d, err := Open(ctx, dir2, Options{})
	if err != nil || d.Layout != NNUNet {
		t.Fatal(d, err)
	}
	r := mustCheck(t, d)
	if r.OK() || !strings.Contains(r.Problems[0].String(), "dataset.json: missing") {
		t.Errorf("check: %v", r.Problems)
	}
}

// copyDir copies a dataset folder (regular files and folders).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
