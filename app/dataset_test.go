package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/volume"
)

// phantoms are two small labelled phantoms (64×64×16), made once for the
// package's tests.
var phantoms struct {
	once   sync.Once
	scans  [2]*volume.Volume
	labels [2]*volume.Labels
	err    error
}

func smallPhantoms(t *testing.T) ([2]*volume.Volume, [2]*volume.Labels) {
	t.Helper()
	phantoms.once.Do(func() {
		sc := phantom.ScannerA()
		sc.Matrix, sc.Slices = 64, 16
		for n := range phantoms.scans {
			phantoms.scans[n], phantoms.labels[n], phantoms.err = phantom.Generate(context.Background(), phantom.Options{Seed: int64(n + 1), Scanner: sc})
			if phantoms.err != nil {
				return
			}
		}
	})
	if phantoms.err != nil {
		t.Fatal(phantoms.err)
	}
	return phantoms.scans, phantoms.labels
}

// phantomDataset makes an nnU-Net dataset with the dataset package: cases
// ph1 and ph2 with their labels, ph3 (ph1's scan) with none yet.
func phantomDataset(t *testing.T) string {
	t.Helper()
	scans, labels := smallPhantoms(t)
	ctx := context.Background()
	d, err := dataset.Init(ctx, filepath.Join(t.TempDir(), "Dataset900_Phantoms"), "Phantoms", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id string
		v  *volume.Volume
		l  *volume.Labels
	}{{"ph1", scans[0], labels[0]}, {"ph2", scans[1], labels[1]}, {"ph3", scans[0], nil}} {
		if _, err := d.AddCase(ctx, c.id, c.v, c.l, nil); err != nil {
			t.Fatal(err)
		}
	}
	return d.Dir
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// annotator is one person's app on a dataset: a session and its Work,
// working as user.
type annotator struct {
	s *Session
	w *Work
}

func newAnnotator(t *testing.T, dir, user string, opt WorkOptions) *annotator {
	t.Helper()
	s := New(Options{AutosaveDir: t.TempDir()})
	t.Cleanup(s.Close)
	opt.Dataset.As = dataset.Holder{User: user}
	w, err := OpenDataset(context.Background(), s, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background(), LeaveOptions{Discard: true}) })
	return &annotator{s: s, w: w}
}

func (a *annotator) open(t *testing.T, id string) {
	t.Helper()
	if _, err := a.w.Open(context.Background(), id, CaseOptions{}, nil); err != nil {
		t.Fatal(err)
	}
}

// paintSlab paints value into a block of voxels of the open scan and
// returns their indices.
func paintSlab(t *testing.T, s *Session, value uint16) []int {
	t.Helper()
	v, _ := s.Volume()
	var idx []int
	for k := 2; k < 5; k++ {
		for j := 10; j < 20; j++ {
			for i := 10; i < 20; i++ {
				idx = append(idx, v.Grid.Index(i, j, k))
			}
		}
	}
	if _, err := s.Paint("Paint", idx, value); err != nil {
		t.Fatal(err)
	}
	return idx
}

func readLabels(t *testing.T, d *dataset.Dataset, id string) *volume.Labels {
	t.Helper()
	_, l, _, err := d.OpenCase(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func entryOf(t *testing.T, w *Work, id string) dataset.Entry {
	t.Helper()
	for _, e := range w.Worklist() {
		if e.Case.ID == id {
			if e.Err != nil {
				t.Fatal(e.Err)
			}
			return e
		}
	}
	t.Fatalf("no case %s in the worklist", id)
	return dataset.Entry{}
}

func TestWorkOpensCaseAndSavesOnLeaving(t *testing.T) {
	dir := phantomDataset(t)
	a := newAnnotator(t, dir, "alice", WorkOptions{})
	_, labels := smallPhantoms(t)

	a.open(t, "ph1")
	if !slices.Equal(labelsOf(a.s), labels[0].Data) {
		t.Fatal("case ph1 opened without its labels")
	}
	if e := entryOf(t, a.w, "ph1"); !e.Lock.Held || e.Lock.Holder.User != "alice" {
		t.Errorf("ph1's lock while open: %+v", e.Lock)
	}
	// A segment the dataset does not declare yet: the next free value,
	// named as the user named it.
	value, err := a.s.AddSegment("tumour")
	if err != nil {
		t.Fatal(err)
	}
	if value != 65 {
		t.Errorf("new segment value %d, want 65 (the dataset declares 0-64)", value)
	}
	idx := paintSlab(t, a.s, value)
	want := labelsOf(a.s)
	// Autosaves go to the fallback folder, never into the dataset.
	saved, err := a.s.Autosave()
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(saved, dir) {
		t.Errorf("autosave written into the dataset: %s", saved)
	}

	// Opening the next case leaves this one: saved, released, counted.
	a.open(t, "ph2")
	if info, _ := a.w.Current(); info.ID != "ph2" {
		t.Fatalf("open case %q, want ph2", info.ID)
	}
	d := a.w.Dataset()
	if got := readLabels(t, d, "ph1"); !slices.Equal(got.Data, want) {
		t.Error("ph1's labels in labelsTr differ from the session's")
	} else if got.Data[idx[0]] != value {
		t.Error("the painted voxels are not in labelsTr")
	}
	e := entryOf(t, a.w, "ph1")
	if e.Lock.Held {
		t.Errorf("ph1 still locked after leaving it: %+v", e.Lock)
	}
	if e.State.Status != dataset.InProgress || e.State.User != "alice" {
		t.Errorf("ph1's state %+v, want in progress by alice", e.State)
	}
	// dataset.json declares the new value with the segment's name.
	reopened, err := dataset.Open(context.Background(), dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls := reopened.Labels()
	if last := ls[len(ls)-1]; last.Value != 65 || last.Name != "tumour" {
		t.Errorf("dataset.json's last label %+v, want 65 tumour", last)
	}
	r, err := reopened.Check(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("dataset check after saving: %v", r.Problems)
	}
	// Nothing was left in imagesTr or labelsTr besides the cases' files.
	for _, sub := range []string{dataset.ImagesDir, dataset.LabelsDir} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		if len(entries) != 3 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("%s holds %v, want the 3 cases' files", sub, names)
		}
	}

	// A case opened and left without an edit is not written.
	before, _ := os.Stat(filepath.Join(dir, dataset.LabelsDir, "ph2.nii.gz"))
	a.open(t, "ph3")
	after, _ := os.Stat(filepath.Join(dir, dataset.LabelsDir, "ph2.nii.gz"))
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("ph2's labels were rewritten although nothing changed")
	}
	if e := entryOf(t, a.w, "ph2"); e.State.User != "" || e.State.Status != dataset.ToDo {
		t.Errorf("ph2's state %+v after a visit without work, want untouched", e.State)
	}

	// Undo works within the case, and history starts afresh with it.
	if u, _ := a.s.UndoRedoNames(); u != "" {
		t.Errorf("undo offers %q from another case", u)
	}
	paintSlab(t, a.s, 5)
	if _, ok := a.s.Undo(); !ok {
		t.Error("undo in a dataset case")
	}
}

func TestWorkTwoAnnotators(t *testing.T) {
	dir := phantomDataset(t)
	alice := newAnnotator(t, dir, "alice", WorkOptions{})
	bob := newAnnotator(t, dir, "bob", WorkOptions{})
	alice.open(t, "ph1")

	_, err := bob.w.Open(context.Background(), "ph1", CaseOptions{}, nil)
	var le *dataset.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("bob opening alice's case: %v, want a LockedError", err)
	}
	if le.Holder.User != "alice" || le.Stale || le.Holder.Since.IsZero() {
		t.Errorf("bob sees holder %+v, stale %v; want alice, not stale, with the time", le.Holder, le.Stale)
	}
	if _, ok := bob.w.Current(); ok {
		t.Error("bob has a case open after being refused")
	}
	// Next passes over the case alice holds.
	if next, ok := StepCase(bob.w.Worklist(), "", 1, false); !ok || next != "ph2" {
		t.Errorf("bob's next case %q, want ph2", next)
	}
	bob.open(t, "ph2")
	paintSlab(t, bob.s, 11)
	paintSlab(t, alice.s, 10)
	if err := alice.w.Leave(context.Background(), LeaveOptions{Status: dataset.Done}); err != nil {
		t.Fatal(err)
	}
	bob.open(t, "ph1")
	d := bob.w.Dataset()
	if e := entryOf(t, bob.w, "ph1"); e.State.Status != dataset.Done || e.State.User != "alice" || e.Lock.Holder.User != "bob" {
		t.Errorf("ph1 after alice left it done and bob opened it: %+v", e)
	}
	if e := entryOf(t, bob.w, "ph2"); e.State.User != "bob" {
		t.Errorf("ph2 last worked on by %q, want bob", e.State.User)
	}
	// Each one's edits are in their case.
	if !slices.Contains(readLabels(t, d, "ph1").Data, 10) {
		t.Error("alice's edits are not in ph1")
	}
	if !slices.Contains(readLabels(t, d, "ph2").Data, 11) {
		t.Error("bob's edits are not in ph2")
	}
}

func TestWorkEditTime(t *testing.T) {
	dir := phantomDataset(t)
	clock := newFakeClock()
	a := newAnnotator(t, dir, "alice", WorkOptions{Now: clock.Now, Idle: time.Minute})
	a.open(t, "ph1")
	clock.advance(10 * time.Second)
	paintSlab(t, a.s, 5) // +10 s
	clock.advance(10 * time.Second)
	a.s.SetCursor([3]int{1, 2, 3}) // +10 s
	clock.advance(3 * time.Minute)
	a.s.Undo() // +60 s: the pause counts only up to the idle limit
	clock.advance(5 * time.Second)
	if info, _ := a.w.Current(); info.EditTime != 85*time.Second {
		t.Errorf("editing time so far %v, want 1m25s", info.EditTime)
	}
	if err := a.w.SetNote("left lobe unclear"); err != nil { // writes 85 s
		t.Fatal(err)
	}
	clock.advance(20 * time.Second)
	a.w.Touch() // a gesture the session does not see: +20 s
	clock.advance(2 * time.Hour)
	// Leaving after a long absence: the pause counts one idle minute.
	if err := a.w.Leave(context.Background(), LeaveOptions{}); err != nil {
		t.Fatal(err)
	}
	e := entryOf(t, a.w, "ph1")
	if want := 85*time.Second + 20*time.Second + time.Minute; e.State.EditTime != want {
		t.Errorf("stored editing time %v, want %v", e.State.EditTime, want)
	}
	if e.State.Note != "left lobe unclear" {
		t.Errorf("note %q", e.State.Note)
	}
	// A second visit adds to the first.
	a.open(t, "ph1")
	clock.advance(30 * time.Second)
	a.s.SetCursor([3]int{2, 2, 3})
	a.open(t, "ph2")
	if e := entryOf(t, a.w, "ph1"); e.State.EditTime != 195*time.Second {
		t.Errorf("editing time after a second visit %v, want 3m15s", e.State.EditTime)
	}
}

func TestWorkLostLock(t *testing.T) {
	dir := phantomDataset(t)
	lost := make(chan struct{}, 1)
	alice := newAnnotator(t, dir, "alice", WorkOptions{LockCheck: 10 * time.Millisecond, OnChange: func() {
		select {
		case lost <- struct{}{}:
		default:
		}
	}})
	bob := newAnnotator(t, dir, "bob", WorkOptions{})
	alice.open(t, "ph1")
	paintSlab(t, alice.s, 9)
	aliceLabels := labelsOf(alice.s)

	// Alice's machine went quiet: her lock's heartbeat is old.
	lockPath := filepath.Join(dir, dataset.StateDir, "locks", "ph1.lock")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(lockPath, old, old); err != nil {
		t.Fatal(err)
	}
	_, err := bob.w.Open(context.Background(), "ph1", CaseOptions{}, nil)
	var le *dataset.LockedError
	if !errors.As(err, &le) || !le.Stale || le.Holder.User != "alice" {
		t.Fatalf("bob opening ph1 with alice's lock stale: %v", err)
	}
	// Bob confirms, and takes the case over.
	if _, err := bob.w.Open(context.Background(), "ph1", CaseOptions{TakeOver: &le.Holder}, nil); err != nil {
		t.Fatal(err)
	}

	// Alice's app notices, and says so.
	deadline := time.After(5 * time.Second)
	for {
		if info, _ := alice.w.Current(); info.Lost != nil {
			if !errors.Is(info.Lost, dataset.ErrLost) || !strings.Contains(info.Lost.Error(), "bob") {
				t.Errorf("lost: %v, want it to name bob", info.Lost)
			}
			break
		}
		select {
		case <-lost:
		case <-deadline:
			t.Fatal("alice's app did not notice the lock was taken over")
		}
	}
	// Leaving would lose her edits: refused, nothing written.
	err = alice.w.Leave(context.Background(), LeaveOptions{Status: dataset.Done})
	var ue *UnsavedError
	if !errors.As(err, &ue) || !errors.Is(err, dataset.ErrLost) {
		t.Fatalf("leaving with the lock lost: %v, want an UnsavedError", err)
	}
	if slices.Contains(readLabels(t, bob.w.Dataset(), "ph1").Data, 9) {
		t.Error("alice's edits were written over bob's case")
	}
	if _, ok := alice.w.Current(); !ok {
		t.Fatal("the case was closed although its edits were not saved")
	}
	// She saves them elsewhere, then leaves without them.
	elsewhere := filepath.Join(t.TempDir(), "ph1_alice.nii.gz")
	if err := alice.s.ExportLabels(elsewhere); err != nil {
		t.Fatal(err)
	}
	v, _ := alice.s.Volume()
	got, _, err := volume.LoadLabels(elsewhere, v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data, aliceLabels) {
		t.Error("the labels saved elsewhere are not alice's")
	}
	if err := alice.w.Leave(context.Background(), LeaveOptions{Discard: true}); err != nil {
		t.Fatal(err)
	}
	// Bob still holds the case, and its state is his.
	e := entryOf(t, bob.w, "ph1")
	if !e.Lock.Held || e.Lock.Holder.User != "bob" {
		t.Errorf("ph1's lock after alice left: %+v, want bob's", e.Lock)
	}
	if e.State.Status == dataset.Done {
		t.Error("alice's status was written after she lost the case")
	}
}

func TestWorkPlainFolderIsReadOnlyAndConverts(t *testing.T) {
	scans, labels := smallPhantoms(t)
	dir := filepath.Join(t.TempDir(), "scans")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, name := range []string{"a", "b"} {
		if err := volume.WriteNIfTI(filepath.Join(dir, name+".nii.gz"), scans[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := volume.WriteLabels(filepath.Join(dir, "a_seg.nii.gz"), labels[0], scans[0]); err != nil {
		t.Fatal(err)
	}
	if !LooksLikeDataset(dir) {
		t.Error("a folder of NIfTI scans does not look like a dataset")
	}
	a := newAnnotator(t, dir, "alice", WorkOptions{})
	if !a.w.Dataset().ReadOnly() || len(a.w.Dataset().Cases) != 2 {
		t.Fatalf("plain folder: read-only %v, %d cases", a.w.Dataset().ReadOnly(), len(a.w.Dataset().Cases))
	}
	a.open(t, "a")
	if !slices.Equal(labelsOf(a.s), labels[0].Data) {
		t.Error("plain case a opened without its _seg labels")
	}
	if info, _ := a.w.Current(); !info.ReadOnly {
		t.Error("a plain folder's case is not read-only")
	}
	if err := a.w.SetStatus(dataset.Done); !errors.Is(err, dataset.ErrReadOnly) {
		t.Errorf("status in a plain folder: %v, want ErrReadOnly", err)
	}
	paintSlab(t, a.s, 3)
	_, err := a.w.Open(context.Background(), "b", CaseOptions{}, nil)
	var ue *UnsavedError
	if !errors.As(err, &ue) || !errors.Is(err, dataset.ErrReadOnly) {
		t.Fatalf("leaving an edited plain case: %v, want an UnsavedError", err)
	}
	if _, err := a.w.Open(context.Background(), "b", CaseOptions{Leave: LeaveOptions{Discard: true}}, nil); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the plain folder was changed: %d entries", len(entries))
	}
	if err := a.w.Close(context.Background(), LeaveOptions{}); err != nil {
		t.Fatal(err)
	}

	// Converted in place, as polyseg dataset init does.
	var reports int
	d, results, err := MakeNNUNet(context.Background(), a.w.Dataset(), dir, "", dataset.Options{},
		ProgressFunc(func(float64, string) { reports++ }))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || reports != 3 || d.Layout != dataset.NNUNet || len(d.Cases) != 2 {
		t.Fatalf("conversion: %d results, %d reports, layout %v, %d cases", len(results), reports, d.Layout, len(d.Cases))
	}
	// Run again, it adds nothing and fails nothing.
	_, results, err = MakeNNUNet(context.Background(), a.w.Dataset(), dir, "", dataset.Options{}, nil)
	if err != nil || len(results) != 2 || !errors.Is(results[0].Err, dataset.ErrExists) {
		t.Errorf("second conversion: %v, %+v", err, results)
	}
	b := newAnnotator(t, dir, "alice", WorkOptions{})
	if b.w.Dataset().ReadOnly() {
		t.Fatal("the converted folder is still read-only")
	}
	b.open(t, "a")
	if !slices.Equal(labelsOf(b.s), labels[0].Data) {
		t.Error("the converted case a lost its labels")
	}
}

func TestLooksLikeDataset(t *testing.T) {
	mk := func(files ...string) string {
		dir := t.TempDir()
		for _, f := range files {
			p := filepath.Join(dir, f)
			if strings.HasSuffix(f, "/") {
				os.MkdirAll(p, 0o755)
				continue
			}
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte("x"), 0o644)
		}
		return dir
	}
	tests := []struct {
		name  string
		files []string
		want  bool
	}{
		{"nnU-Net", []string{"dataset.json", "imagesTr/", "labelsTr/"}, true},
		{"imagesTr only", []string{"imagesTr/"}, true},
		{"NIfTI files", []string{"a.nii.gz", "b.nii", "notes.txt"}, true},
		{"series folders", []string{"CT1/x.dcm", "CT2/y.dcm"}, true},
		{"DICOM series", []string{"IM0001", "IM0002", ".DS_Store"}, false},
		{"DICOM with a subfolder", []string{"IM0001", "sub/"}, false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		if got := LooksLikeDataset(mk(tc.files...)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestStepCase(t *testing.T) {
	e := func(id string, st dataset.Status, held, stale bool) dataset.Entry {
		return dataset.Entry{Case: dataset.Case{ID: id}, State: dataset.State{Status: st},
			Lock: dataset.LockStatus{Held: held, Stale: stale}}
	}
	es := []dataset.Entry{
		e("a", dataset.Done, false, false),
		e("b", dataset.ToDo, true, false), // open elsewhere
		e("c", dataset.InProgress, false, false),
		e("d", dataset.Skipped, false, false),
		e("e", dataset.ToDo, true, true), // its holder is gone
	}
	tests := []struct {
		name      string
		current   string
		dir       int
		remaining bool
		want      string
	}{
		{"next passes a case open elsewhere", "a", 1, false, "c"},
		{"next takes any status", "c", 1, false, "d"},
		{"next offers a stale case", "d", 1, false, "e"},
		{"no next after the last", "e", 1, false, ""},
		{"previous", "d", -1, false, "c"},
		{"no previous before the first", "a", -1, false, ""},
		{"no current: the first", "", 1, false, "a"},
		{"no current, backwards: the last", "", -1, false, "e"},
		{"remaining skips done and skipped", "c", 1, true, "e"},
		{"remaining goes round", "e", 1, true, "c"},
		{"remaining backwards", "c", -1, true, "e"},
		{"remaining, none but current", "", 1, true, "c"},
	}
	for _, tc := range tests {
		got, ok := StepCase(es, tc.current, tc.dir, tc.remaining)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: %q %v, want %q", tc.name, got, ok, tc.want)
		}
	}
	// Only the current case remains: nothing to go to.
	if got, ok := StepCase([]dataset.Entry{e("x", dataset.ToDo, false, false)}, "x", 1, true); ok {
		t.Errorf("the current case alone: %q", got)
	}
}

func TestSortAndFilterEntries(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	es := []dataset.Entry{
		{Case: dataset.Case{ID: "c"}, State: dataset.State{Status: dataset.Done, EditTime: time.Minute, Updated: t0, User: "bob"}},
		{Case: dataset.Case{ID: "a"}, State: dataset.State{Status: dataset.ToDo}},
		{Case: dataset.Case{ID: "b"}, State: dataset.State{Status: dataset.InProgress, EditTime: 2 * time.Minute, Updated: t0.Add(time.Hour), User: "alice"}},
	}
	ids := func(es []dataset.Entry) string {
		var s []string
		for _, e := range es {
			s = append(s, e.Case.ID)
		}
		return strings.Join(s, "")
	}
	for _, tc := range []struct {
		k    SortKey
		want string
	}{{ByCase, "abc"}, {ByStatus, "abc"}, {ByEditTime, "acb"}, {ByUpdated, "bca"}, {ByUser, "abc"}} {
		c := slices.Clone(es)
		SortEntries(c, tc.k)
		if got := ids(c); got != tc.want {
			t.Errorf("by %s: %s, want %s", tc.k, got, tc.want)
		}
	}
	if got := ids(FilterEntries(es, dataset.ToDo, dataset.Done)); got != "ca" {
		t.Errorf("filter to do, done: %s", got)
	}
	if got := ids(FilterEntries(es)); got != "cab" {
		t.Errorf("no filter: %s", got)
	}
}

func TestWorkJobLivesAcrossCases(t *testing.T) {
	dir := phantomDataset(t)
	a := newAnnotator(t, dir, "alice", WorkOptions{})
	a.open(t, "ph1")
	started := make(chan struct{})
	job := a.w.RunJob("Train", func(ctx context.Context, p Progress) error {
		close(started)
		p.Report(0.5, "epoch 1")
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	a.open(t, "ph2")
	select {
	case <-job.Done():
		t.Fatalf("the dataset's job ended when the case changed: %v", job.Err())
	default:
	}
	if jobs := a.s.Jobs(); !slices.Contains(jobs, job) {
		t.Error("the dataset's job is not among the session's")
	}
	if err := a.w.Close(context.Background(), LeaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); !Canceled(err) {
		t.Errorf("job after closing the dataset: %v, want cancelled", err)
	}
}

// TestWorkDecathlon works on a Medical Segmentation Decathlon dataset
// (labels value → name, the training list): its labels name the segments,
// and a save keeps its dialect.
func TestWorkDecathlon(t *testing.T) {
	scans, labels := smallPhantoms(t)
	dir := filepath.Join(t.TempDir(), "Task09_Phantom")
	for _, sub := range []string{"imagesTr", "labelsTr"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Only the liver, as Task03_Liver has it.
	liver := volume.NewLabels(labels[0].Grid)
	for i, v := range labels[0].Data {
		if v == 5 {
			liver.Data[i] = 1
		}
	}
	for _, id := range []string{"ph_1", "ph_2"} {
		if err := volume.WriteNIfTI(filepath.Join(dir, "imagesTr", id+".nii.gz"), scans[0]); err != nil {
			t.Fatal(err)
		}
		if err := volume.WriteLabels(filepath.Join(dir, "labelsTr", id+".nii.gz"), liver, scans[0]); err != nil {
			t.Fatal(err)
		}
	}
	js := `{"name": "Phantom", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "liver"},
	"numTraining": 2, "training": [{"image": "./imagesTr/ph_1.nii.gz", "label": "./labelsTr/ph_1.nii.gz"},
	{"image": "./imagesTr/ph_2.nii.gz", "label": "./labelsTr/ph_2.nii.gz"}]}`
	if err := os.WriteFile(filepath.Join(dir, "dataset.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	a := newAnnotator(t, dir, "alice", WorkOptions{})
	if a.w.Dataset().Layout != dataset.MSD {
		t.Fatalf("layout %v", a.w.Dataset().Layout)
	}
	a.open(t, "ph_1")
	if seg := a.s.SegmentOf(1); seg.Name != "liver" || seg.Voxels == 0 {
		t.Errorf("value 1 in the segment list: %+v, want the dataset's liver", seg)
	}
	v, err := a.s.AddSegment("liver tumour")
	if err != nil || v != 2 {
		t.Fatalf("new segment %d, %v; want value 2, the next after the dataset's", v, err)
	}
	paintSlab(t, a.s, v)
	a.open(t, "ph_2")
	b, err := os.ReadFile(filepath.Join(dir, "dataset.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"2": "liver_tumour"`) || !strings.Contains(string(b), `"training"`) {
		t.Errorf("dataset.json after saving:\n%s", b)
	}
	if !slices.Contains(readLabels(t, a.w.Dataset(), "ph_1").Data, 2) {
		t.Error("the tumour was not saved into labelsTr")
	}
	r, err := a.w.Dataset().Check(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("check: %v", r.Problems)
	}
}
