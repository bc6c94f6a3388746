package ui

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/volume"
)

// uiPhantoms are two small labelled phantoms, made once.
var uiPhantoms struct {
	once   sync.Once
	scans  [2]*volume.Volume
	labels [2]*volume.Labels
	err    error
}

// phantomDataset makes an nnU-Net dataset with the dataset package: ph1
// and ph2 with their labels, ph3 with none yet.
func phantomDataset(t *testing.T) string {
	t.Helper()
	uiPhantoms.once.Do(func() {
		sc := phantom.ScannerA()
		sc.Matrix, sc.Slices = 64, 16
		for n := range uiPhantoms.scans {
			uiPhantoms.scans[n], uiPhantoms.labels[n], uiPhantoms.err = phantom.Generate(context.Background(),
				phantom.Options{Seed: int64(n + 1), Scanner: sc})
			if uiPhantoms.err != nil {
				return
			}
		}
	})
	if uiPhantoms.err != nil {
		t.Fatal(uiPhantoms.err)
	}
	ctx := context.Background()
	d, err := dataset.Init(ctx, filepath.Join(t.TempDir(), "Dataset900_Phantoms"), "Phantoms", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, l := uiPhantoms.scans, uiPhantoms.labels
	for _, c := range []struct {
		id string
		v  *volume.Volume
		l  *volume.Labels
	}{{"ph1", s[0], l[0]}, {"ph2", s[1], l[1]}, {"ph3", s[0], nil}} {
		if _, err := d.AddCase(ctx, c.id, c.v, c.l, nil); err != nil {
			t.Fatal(err)
		}
	}
	return d.Dir
}

// datasetWindow returns a window of app a working as user, with dir open
// as a dataset.
func datasetWindow(t *testing.T, a *loopApp, dir, user string, opt app.WorkOptions) *MainWindow {
	t.Helper()
	m := newWindowIn(t, a, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(1400, 900))
	opt.Dataset.As = dataset.Holder{User: user}
	m.worklist.opt = opt
	m.worklist.fileDir = t.TempDir()
	// The test reloads the worklist itself, where a user would wait for
	// the periodic reload.
	m.worklist.every = time.Hour
	wait(t, m.OpenDataset(dir, ""))
	// Closing the dataset stops its lock watch and its refreshes, which
	// would otherwise run on into the next test.
	t.Cleanup(func() { wait(t, m.worklist.closeThen(app.LeaveOptions{Discard: true}, nil, true)) })
	if !m.worklist.box.Visible() {
		t.Fatal("the worklist panel is hidden with a dataset open")
	}
	return m
}

// currentCase returns the case open in m, "" when none.
func currentCase(m *MainWindow) string { return m.worklist.current() }

// shortcut presses key with mod held, as the driver delivers it.
func shortcut(m *MainWindow, key fyne.KeyName, mod fyne.KeyModifier) { press(m, mod, key) }

// ctrl presses Ctrl with key and waits for the case change it started.
func ctrl(t *testing.T, m *MainWindow, key fyne.KeyName) {
	t.Helper()
	shortcut(m, key, fyne.KeyModifierShortcutDefault)
	wait(t, m.worklist.busy)
}

// tapCase taps the worklist row of case id.
func tapCase(t *testing.T, m *MainWindow, id string) {
	t.Helper()
	rows := find(m.worklist.list, func(o fyne.CanvasObject) bool {
		l, ok := o.(*widget.Label)
		return ok && l.TextStyle.Bold && (strings.HasPrefix(l.Text, id+" ") || strings.HasPrefix(l.Text, "▶ "+id+" "))
	})
	if len(rows) != 1 {
		t.Fatalf("%d rows of case %s in the worklist", len(rows), id)
	}
	relayout(m.Window().Canvas())
	click(m, at(rows[0], fyne.NewPos(10, 5)))
}

// overlayText returns the texts of the labels of the top overlay (a
// dialog), "" when there is none.
func overlayText(m *MainWindow) string {
	top := m.Window().Canvas().Overlays().Top()
	if top == nil {
		return ""
	}
	var texts []string
	for _, o := range find(top, func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Label); return ok }) {
		texts = append(texts, o.(*widget.Label).Text)
	}
	return strings.Join(texts, "\n")
}

// tapDialog taps the button labelled text in the top overlay.
func tapDialog(t *testing.T, m *MainWindow, text string) {
	t.Helper()
	top := m.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog to tap %q in", text)
	}
	b := find(top, func(o fyne.CanvasObject) bool { b, ok := o.(*widget.Button); return ok && b.Text == text })
	if len(b) != 1 {
		t.Fatalf("%d %q buttons in the dialog:\n%s", len(b), text, overlayText(m))
	}
	tap(m, b[0])
}

// chooseOption taps sel and then its option text in the menu it pops up.
func chooseOption(t *testing.T, m *MainWindow, sel *widget.Select, text string) {
	t.Helper()
	tap(m, sel)
	top := m.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("the choice showed no menu")
	}
	opts := find(top, func(o fyne.CanvasObject) bool { c, ok := o.(*canvas.Text); return ok && c.Text == text })
	if len(opts) != 1 {
		t.Fatalf("%d options %q in the menu", len(opts), text)
	}
	click(m, at(opts[0], fyne.NewPos(2, 2)))
	if sel.Selected != text {
		t.Fatalf("chose %q, the choice shows %q", text, sel.Selected)
	}
}

// menuItem returns the item label of the main menu's menu; a test runs
// its Action as the menu does when the item is clicked.
func menuItem(t *testing.T, m *MainWindow, menu, label string) *fyne.MenuItem {
	t.Helper()
	for _, mm := range m.Window().MainMenu().Items {
		for _, it := range mm.Items {
			if mm.Label == menu && it.Label == label {
				if it.Disabled {
					t.Fatalf("%s > %s is disabled", menu, label)
				}
				return it
			}
		}
	}
	t.Fatalf("no %s > %s", menu, label)
	return nil
}

func stateOf(t *testing.T, dir, id string) dataset.State {
	t.Helper()
	d, err := dataset.Open(context.Background(), dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.State(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func savedLabels(t *testing.T, dir, id string) []uint16 {
	t.Helper()
	d, err := dataset.Open(context.Background(), dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, l, _, err := d.OpenCase(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if l == nil {
		return nil
	}
	return l.Data
}

// paintCorner paints value into a corner block of the open scan.
func paintCorner(t *testing.T, m *MainWindow, value uint16) {
	t.Helper()
	v, _ := m.session.Volume()
	var idx []int
	for j := 2; j < 8; j++ {
		for i := 2; i < 8; i++ {
			idx = append(idx, v.Grid.Index(i, j, 3))
		}
	}
	if n, err := m.session.Paint("Paint", idx, value); err != nil || n != len(idx) {
		t.Fatalf("painted %d of %d voxels: %v", n, len(idx), err)
	}
	settle()
}

func lockHeld(dir, id string) bool {
	_, err := os.Stat(filepath.Join(dir, dataset.StateDir, "locks", id+".lock"))
	return err == nil
}

// TestWorklistKeysAndTaps works through a dataset with the keys and the
// list: the first case to do opens with the dataset, Ctrl+N, Ctrl+P and a
// tap move between cases saving the one left, and Ctrl+Enter marks it
// done with its note and opens the next one still to do.
func TestWorklistKeysAndTaps(t *testing.T) {
	dir := phantomDataset(t)
	m := datasetWindow(t, newLoopApp(t), dir, "alice", app.WorkOptions{})
	if got := currentCase(m); got != "ph1" {
		t.Fatalf("opening the dataset opened %q, want ph1, the first case to do", got)
	}
	if n := m.worklist.list.Length(); n != 3 {
		t.Errorf("the worklist lists %d cases", n)
	}
	if !strings.Contains(m.Window().Title(), "ph1") {
		t.Errorf("title %q does not name the case", m.Window().Title())
	}
	if !lockHeld(dir, "ph1") {
		t.Error("ph1 is open without its lock")
	}
	paintCorner(t, m, 12)
	if !strings.Contains(m.worklist.caseLabel.Text, "unsaved edits") {
		t.Errorf("the case line %q does not say the edits are unsaved", m.worklist.caseLabel.Text)
	}

	ctrl(t, m, fyne.KeyN)
	if got := currentCase(m); got != "ph2" {
		t.Fatalf("Ctrl+N opened %q, want ph2", got)
	}
	if !slices.Contains(savedLabels(t, dir, "ph1"), 12) {
		t.Error("ph1's edit was not saved on leaving it")
	}
	if s := stateOf(t, dir, "ph1"); s.Status != dataset.InProgress || s.User != "alice" {
		t.Errorf("ph1's state %+v, want in progress by alice", s)
	}
	if lockHeld(dir, "ph1") {
		t.Error("ph1's lock was kept after leaving it")
	}
	if !strings.Contains(m.worklist.summary.Text, "1 in progress") {
		t.Errorf("summary %q", m.worklist.summary.Text)
	}

	tapCase(t, m, "ph3")
	wait(t, m.worklist.busy)
	if got := currentCase(m); got != "ph3" {
		t.Fatalf("tapping ph3 opened %q", got)
	}
	ctrl(t, m, fyne.KeyP)
	if got := currentCase(m); got != "ph2" {
		t.Fatalf("Ctrl+P opened %q, want ph2", got)
	}

	// Done, next: ph2 done, ph3 the next to do.
	ctrl(t, m, fyne.KeyReturn)
	if got := currentCase(m); got != "ph3" {
		t.Fatalf("Ctrl+Enter opened %q, want ph3", got)
	}
	if s := stateOf(t, dir, "ph2"); s.Status != dataset.Done {
		t.Errorf("ph2's status %s after Ctrl+Enter, want done", s.Status)
	}
	// A note typed for ph3 goes with it; the next to do is ph1 (in
	// progress), round the list.
	tap(m, m.worklist.note)
	typeText(t, m, "spleen tip unclear")
	paintCorner(t, m, 13)
	ctrl(t, m, fyne.KeyReturn)
	if got := currentCase(m); got != "ph1" {
		t.Fatalf("second Ctrl+Enter opened %q, want ph1", got)
	}
	s := stateOf(t, dir, "ph3")
	if s.Status != dataset.Done || s.Note != "spleen tip unclear" || !slices.Contains(savedLabels(t, dir, "ph3"), 13) {
		t.Errorf("ph3 after done, next: %+v", s)
	}
	// Nothing left but ph1: done, and it stays open.
	ctrl(t, m, fyne.KeyReturn)
	if got := currentCase(m); got != "ph1" {
		t.Errorf("the last case was left: %q open", got)
	}
	if s := stateOf(t, dir, "ph1"); s.Status != dataset.Done {
		t.Errorf("ph1's status %s after the last Ctrl+Enter", s.Status)
	}
	if !strings.Contains(m.toolbar.message.Text, "No other case") {
		t.Errorf("message %q", m.toolbar.message.Text)
	}
	// The keys are in the help.
	for _, name := range []string{"Next case", "Previous case", "Done, next case", "Save case"} {
		if m.keys.keyOf(name) == "" {
			t.Errorf("the key table lacks %q", name)
		}
	}

	// The status and the filter, chosen as a user does.
	chooseOption(t, m, m.worklist.status, dataset.NeedsReview.String())
	if s := stateOf(t, dir, "ph1"); s.Status != dataset.NeedsReview {
		t.Errorf("ph1's status %s after choosing needs review", s.Status)
	}
	for _, f := range []struct {
		status dataset.Status
		n      int
	}{{dataset.ToDo, 0}, {dataset.Done, 2}, {dataset.NeedsReview, 1}} {
		chooseOption(t, m, m.worklist.filter, f.status.String())
		if n := m.worklist.list.Length(); n != f.n {
			t.Errorf("%d cases listed as %s, want %d", n, f.status, f.n)
		}
	}

	// Closing the window saves the open case and gives it back.
	paintCorner(t, m, 14)
	m.Close()
	wait(t, m.worklist.busy)
	if lockHeld(dir, "ph1") {
		t.Error("ph1's lock kept after closing the window")
	}
	if !slices.Contains(savedLabels(t, dir, "ph1"), 14) {
		t.Error("closing the window did not save the open case")
	}
}

// TestWorklistTwoAnnotators: a case open in one window is refused in
// another, naming its holder; a stale lock is taken over once the user
// confirms, and the window that lost the case says so and keeps the
// edits, which it saves elsewhere before moving on.
func TestWorklistTwoAnnotators(t *testing.T) {
	dir := phantomDataset(t)
	a := newLoopApp(t)
	// Alice's app notices a lost lock whenever it reloads the worklist;
	// the test reloads it instead of waiting for the periodic checks.
	alice := datasetWindow(t, a, dir, "alice", app.WorkOptions{LockCheck: time.Hour})
	bob := datasetWindow(t, a, dir, "bob", app.WorkOptions{})
	if got := currentCase(bob); got != "ph2" {
		t.Fatalf("bob started on %q, want ph2: ph1 is alice's", got)
	}
	bob.worklist.refresh()
	sub := find(bob.worklist.list, func(o fyne.CanvasObject) bool {
		l, ok := o.(*widget.Label)
		return ok && strings.Contains(l.Text, "open: alice")
	})
	if len(sub) != 1 {
		t.Error("bob's worklist does not show ph1 open by alice")
	}
	tapCase(t, bob, "ph1")
	wait(t, bob.worklist.busy)
	if got := overlayText(bob); !strings.Contains(got, "alice") || !strings.Contains(got, "open in the app of") {
		t.Errorf("bob's dialog on ph1: %q", got)
	}
	if got := currentCase(bob); got != "ph2" {
		t.Errorf("bob is on %q after being refused ph1", got)
	}
	tapDialog(t, bob, "OK")

	// Alice's app goes quiet; bob takes ph1 over once he confirms.
	paintCorner(t, alice, 12)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, dataset.StateDir, "locks", "ph1.lock"), old, old); err != nil {
		t.Fatal(err)
	}
	bob.worklist.refresh()
	tapCase(t, bob, "ph1")
	wait(t, bob.worklist.busy)
	if got := overlayText(bob); !strings.Contains(got, "alice") || !strings.Contains(got, "looks gone") {
		t.Fatalf("bob's dialog on the stale ph1: %q", got)
	}
	tapDialog(t, bob, "Take over")
	wait(t, bob.worklist.busy)
	if got := currentCase(bob); got != "ph1" {
		t.Fatalf("bob is on %q after taking ph1 over", got)
	}

	// Alice's app notices, and keeps her edits.
	menuItem(t, alice, "Dataset", "Reload worklist").Action()
	if !alice.worklist.lost.Visible() {
		t.Fatal("alice's panel does not say the case was taken over")
	}
	if !strings.Contains(alice.worklist.lost.Text, "bob") {
		t.Errorf("alice's panel: %q", alice.worklist.lost.Text)
	}
	ctrl(t, alice, fyne.KeyN)
	if got := currentCase(alice); got != "ph1" {
		t.Fatalf("alice left ph1 for %q with her edits unsaved", got)
	}
	if !strings.Contains(overlayText(alice), "no longer yours") {
		t.Fatalf("alice's dialog: %q", overlayText(alice))
	}
	tapDialog(t, alice, "Save elsewhere…")
	// The file dialog proposes ph1_labels.nii.gz in the folder it starts in.
	tapDialog(t, alice, "Save")
	wait(t, alice.worklist.busy)
	out := filepath.Join(alice.worklist.fileDir, "ph1_labels.nii.gz")
	// Bob left ph2 for ph1: it is her next case.
	if got := currentCase(alice); got != "ph2" {
		t.Fatalf("alice is on %q once her labels are saved, want ph2", got)
	}
	v, _ := bob.session.Volume()
	l, _, err := volume.LoadLabels(out, v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(l.Data, 12) {
		t.Error("the file alice saved lacks her edits")
	}
	if slices.Contains(savedLabels(t, dir, "ph1"), 12) {
		t.Error("alice's edits were written over bob's case")
	}
	if !lockHeld(dir, "ph1") {
		t.Error("alice's leaving removed bob's lock")
	}
}

// TestStatisticsDialogAndVolumes: the segment list shows mL, and
// Segment > Statistics… shows the stats table and exports it as CSV.
func TestStatisticsDialogAndVolumes(t *testing.T) {
	dir := phantomDataset(t)
	m := datasetWindow(t, newLoopApp(t), dir, "alice", app.WorkOptions{})
	liverML := m.session.SegmentOf(liver).VolumeML
	rows := find(m.sidebar.segments.list, func(o fyne.CanvasObject) bool {
		l, ok := o.(*widget.Label)
		return ok && strings.HasPrefix(l.Text, "5 liver (")
	})
	if len(rows) != 1 || !strings.Contains(rows[0].(*widget.Label).Text, volumeML(liverML)) || !strings.HasSuffix(rows[0].(*widget.Label).Text, " mL)") {
		t.Fatalf("liver's row in the segment list: %v (want %s)", rows, volumeML(liverML))
	}
	menuItem(t, m, "Segment", "Statistics…").Action()
	wait(t, m.statsShown)
	if !strings.Contains(overlayText(m), "Statistics of") {
		t.Fatalf("no statistics dialog: %q", overlayText(m))
	}
	table := find(m.Window().Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		l, ok := o.(*widget.Label)
		return ok && l.Text == "liver"
	})
	if len(table) != 1 {
		t.Errorf("the statistics table shows liver %d times", len(table))
	}
	tapDialog(t, m, "Export CSV…")
	tapDialog(t, m, "Save")
	out := filepath.Join(m.worklist.fileDir, "ph1_0000_stats.csv")
	eventually(t, "the CSV file", func() bool { _, err := os.Stat(out); return err == nil })
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "label,name,voxels,volume_ml,") || !strings.Contains(string(b), "\n5,liver,") {
		t.Errorf("CSV:\n%s", b)
	}
}

// TestWorklistPlainFolder: a folder of scans opens read-only; edits are
// not lost on leaving a case (the user is asked, and may drop them), and
// Make nnU-Net dataset… converts the folder in place and opens it.
func TestWorklistPlainFolder(t *testing.T) {
	phantomDataset(t) // makes the phantoms
	dir := filepath.Join(t.TempDir(), "scans")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, name := range []string{"a", "b"} {
		if err := volume.WriteNIfTI(filepath.Join(dir, name+".nii.gz"), uiPhantoms.scans[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := volume.WriteLabels(filepath.Join(dir, "a_seg.nii.gz"), uiPhantoms.labels[0], uiPhantoms.scans[0]); err != nil {
		t.Fatal(err)
	}
	m := datasetWindow(t, newLoopApp(t), dir, "alice", app.WorkOptions{})
	if !m.worklist.readOnly.Visible() {
		t.Error("no read-only banner for a folder of scans")
	}
	if got := currentCase(m); got != "a" {
		t.Fatalf("opened %q, want a", got)
	}
	paintCorner(t, m, 12)
	ctrl(t, m, fyne.KeyN)
	if got := currentCase(m); got != "a" {
		t.Fatalf("left the edited case for %q without asking", got)
	}
	if !strings.Contains(overlayText(m), "read-only") {
		t.Fatalf("dialog: %q", overlayText(m))
	}
	tapDialog(t, m, "Drop my edits")
	wait(t, m.worklist.busy)
	if got := currentCase(m); got != "b" {
		t.Fatalf("after dropping the edits, on %q, want b", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the folder of scans was changed: %d entries", len(entries))
	}

	buttons := find(m.worklist.readOnly, func(o fyne.CanvasObject) bool {
		b, ok := o.(*widget.Button)
		return ok && b.Text == "Make nnU-Net dataset…"
	})
	if len(buttons) != 1 {
		t.Fatal("no Make nnU-Net dataset button on the banner")
	}
	tap(m, buttons[0])
	tapDialog(t, m, "Make")
	wait(t, m.worklist.busy)
	if m.worklist.readOnly.Visible() || m.worklist.work.Dataset().Layout != dataset.NNUNet {
		t.Fatal("the converted folder is not open as an nnU-Net dataset")
	}
	if got := currentCase(m); got != "b" {
		t.Errorf("after the conversion, on %q, want b again", got)
	}
	if !slices.Equal(savedLabels(t, dir, "a"), uiPhantoms.labels[0].Data) {
		t.Error("case a's labels were not converted")
	}
	paintCorner(t, m, 12)
	ctrl(t, m, fyne.KeyP)
	if got := currentCase(m); got != "a" {
		t.Fatalf("Ctrl+P opened %q, want a", got)
	}
	if !slices.Contains(savedLabels(t, dir, "b"), 12) {
		t.Error("b's edits were not saved into the converted dataset")
	}
}

// TestLeaveDataset: at the program's end (the driver quit on a signal),
// the open case is saved and released without a question; edits that
// cannot be saved go to the autosave instead.
func TestLeaveDataset(t *testing.T) {
	dir := phantomDataset(t)
	m := datasetWindow(t, newLoopApp(t), dir, "alice", app.WorkOptions{})
	paintCorner(t, m, 12)
	if err := m.LeaveDataset(); err != nil {
		t.Fatal(err)
	}
	if lockHeld(dir, "ph1") || !slices.Contains(savedLabels(t, dir, "ph1"), 12) {
		t.Error("ph1 was not saved and released")
	}

	// A read-only folder: the edits go to the autosave.
	plain := filepath.Join(t.TempDir(), "scans")
	if err := os.MkdirAll(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := volume.WriteNIfTI(filepath.Join(plain, "a.nii.gz"), uiPhantoms.scans[0]); err != nil {
		t.Fatal(err)
	}
	m2 := datasetWindow(t, newLoopApp(t), plain, "alice", app.WorkOptions{})
	paintCorner(t, m2, 12)
	if err := m2.LeaveDataset(); err == nil {
		t.Error("leaving a read-only folder with edits reported no error")
	}
	a := m2.session.FindAutosave()
	if a == nil || a.Labelled != 36 || strings.HasPrefix(a.Path, plain) {
		t.Errorf("autosave %+v, want the 36 painted voxels outside the folder", a)
	}
}
