package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/internal/faketrainer"
	"github.com/polyseg/polyseg/internal/tinymodel"
)

// setStatus sets a case's worklist status, as another annotator's app
// would.
func setStatus(t *testing.T, dir, id string, st dataset.Status) {
	t.Helper()
	d, err := dataset.Open(context.Background(), dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.Acquire(id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if _, err := l.UpdateState(func(s *dataset.State) { s.Status = st }); err != nil {
		t.Fatal(err)
	}
}

// runMenu runs the item label of the main menu's menu, as a click does.
func runMenu(t *testing.T, m *MainWindow, menu, label string) {
	t.Helper()
	it := menuItem(t, m, menu, label)
	it.Action()
}

// trainWindow opens dir in a window whose trainings run the fake trainer
// f, with ph1 and ph2 done.
func trainWindow(t *testing.T, f faketrainer.Fake) (*MainWindow, string) {
	t.Helper()
	dir := phantomDataset(t)
	setStatus(t, dir, "ph1", dataset.Done)
	setStatus(t, dir, "ph2", dataset.Done)
	m := datasetWindow(t, newLoopApp(t), dir, "alice", app.WorkOptions{})
	m.train.opt = app.TrainOptions{Python: f.Python, Trainer: f.Trainer, Grace: 300 * time.Millisecond, KillAfter: 300 * time.Millisecond}
	return m, dir
}

// TestTrainFromTheMenu trains through Segment > Train on this dataset…:
// the dialog names the done cases and the PyTorch found, Train runs the
// job, the model is chosen and said so, its log is viewable, and
// Segment > Segmentation model… goes back to the default.
func TestTrainFromTheMenu(t *testing.T) {
	f := faketrainer.Install(t, faketrainer.OK, "")
	m, dir := trainWindow(t, f)
	if !m.train.logItem.Disabled {
		t.Error("Training log… is enabled before any training")
	}
	runMenu(t, m, "Segment", "Train on this dataset…")
	wait(t, m.train.probed)
	info := m.train.info.Text
	for _, want := range []string{"2 done cases: ph1, ph2", "PyTorch 1.13.0-fake (" + f.Python + "), no GPU"} {
		if !strings.Contains(info, want) {
			t.Errorf("the dialog says %q, not %q", info, want)
		}
	}
	press(m, fyne.KeyModifierControl, fyne.KeyA) // the name field has the keys: typing replaces
	typeText(t, m, "liver_v1")
	chooseOption(t, m, m.train.profile, "smoke")
	chooseOption(t, m, m.train.valCase, "ph2")
	tapDialog(t, m, "Train")
	wait(t, m.train.ended)
	if !strings.Contains(m.toolbar.message.Text, "model liver_v1 trained and chosen for Segment; validation on c3: spleen 0.910, liver n/a") {
		t.Errorf("message %q", m.toolbar.message.Text)
	}
	args := strings.Join(f.Args(), " ")
	for _, want := range []string{"--out " + filepath.Join(dir, "models", "liver_v1"), "--profile smoke", "--val-case ph2"} {
		if !strings.Contains(args, want) {
			t.Errorf("the trainer got %q, without %q", args, want)
		}
	}
	if st := m.session.ModelStatus(); st.UNet != "liver_v1" {
		t.Errorf("segmentation model %q after training", st.UNet)
	}

	runMenu(t, m, "Segment", "Training log…")
	if n := m.train.logLines.Length(); n < 10 {
		t.Errorf("the log shows %d lines", n)
	}
	if top := m.Window().Canvas().Overlays().Top(); top != nil {
		tapDialog(t, m, "Close")
	}

	runMenu(t, m, "Segment", "Segmentation model…")
	if text := overlayText(m); !strings.Contains(text, "Trained on 2 cases: c1, c2") || !strings.Contains(text, "Validation on c3") {
		t.Errorf("the chooser describes the chosen model as:\n%s", text)
	}
	radios := find(m.Window().Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool { _, ok := o.(*widget.RadioGroup); return ok })
	if len(radios) != 1 {
		t.Fatalf("%d choices in the chooser", len(radios))
	}
	radio := radios[0].(*widget.RadioGroup)
	if !strings.HasPrefix(radio.Selected, "liver_v1 (") || len(radio.Options) != 2 {
		t.Errorf("chooser: %q chosen of %q", radio.Selected, radio.Options)
	}
	tapRadio(t, m, radio, defaultUNet)
	tapDialog(t, m, "Use")
	if m.session.Models().ChosenUNet() != nil {
		t.Error("the default U-Net was chosen, the dataset's stays")
	}
}

// TestTrainCancelAndRefusals: the jobs bar's cancel stops a training and
// says no model was written; a dataset that fails its check is refused in
// a dialog listing its problems; without PyTorch the dialog says what to
// install.
func TestTrainCancelAndRefusals(t *testing.T) {
	hang := faketrainer.Install(t, faketrainer.Hang, "")
	m, dir := trainWindow(t, hang)
	runMenu(t, m, "Segment", "Train on this dataset…")
	wait(t, m.train.probed)
	tapDialog(t, m, "Train")
	eventually(t, "the training's progress in the jobs bar", func() bool {
		return strings.Contains(m.jobs.label.Text, "pre-training (PolyCL) epoch 1/1")
	})
	tap(m, m.jobs.cancel)
	wait(t, m.train.ended)
	if !strings.Contains(m.toolbar.message.Text, "cancelled; no model written") {
		t.Errorf("message %q after cancel", m.toolbar.message.Text)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "models")); len(entries) != 0 {
		t.Errorf("models/ holds %d entries after the cancel", len(entries))
	}

	// ph2's label gone: refused, listing the problem.
	if err := os.Remove(filepath.Join(dir, "labelsTr", "ph2.nii.gz")); err != nil {
		t.Fatal(err)
	}
	runMenu(t, m, "Segment", "Train on this dataset…")
	wait(t, m.train.probed)
	tapDialog(t, m, "Train")
	wait(t, m.train.ended)
	if text := overlayText(m); !strings.Contains(text, "case ph2: labelsTr/ph2.nii.gz: label file missing") {
		t.Errorf("the refusal says:\n%s", text)
	}
	tapDialog(t, m, "Close")

	bare := faketrainer.Install(t, faketrainer.OK, `{"python": "3.11.2", "missing": {"torch": "No module named 'torch'"}, "torch": "", "gpus": 0}`)
	m.train.opt.Python = bare.Python
	runMenu(t, m, "Segment", "Train on this dataset…")
	wait(t, m.train.probed)
	if text := m.train.info.Text; !strings.Contains(text, "PyTorch was not found") || !strings.Contains(text, "apt-get install python3-torch") {
		t.Errorf("without PyTorch the dialog says:\n%s", text)
	}
}

// TestWorklistSortedByDoubt opens a dataset with a model the real trainer
// made and sorts the worklist by the model's doubt: the doubts are
// measured in the background and shown, the remaining cases come first,
// the more doubtful first, and Done, next opens the most doubtful case
// left.
func TestWorklistSortedByDoubt(t *testing.T) {
	dir := tinymodel.Dataset(t)
	haveRuntime(t)
	setStatus(t, dir, "ph2", dataset.InProgress)
	m := datasetWindow(t, newLoopApp(t), dir, "alice", app.WorkOptions{})
	if st := m.session.ModelStatus(); st.UNet != tinymodel.Name {
		t.Errorf("segmentation model %q with the dataset open", st.UNet)
	}
	chooseOption(t, m, m.worklist.order, app.ByDoubt.String())
	eventually(t, "the doubts", func() bool {
		return len(m.worklist.doubts) == 2
	})
	var shown []string
	var d map[string]float64
	// The test's goroutine is the main loop: it reads the widgets itself.
	for _, e := range m.worklist.shown {
		shown = append(shown, e.Case.ID)
	}
	d = m.worklist.doubts
	first, second := shown[0], shown[1]
	if d[first] < d[second] || !((first == "ph2" && second == "ph4") || (first == "ph4" && second == "ph2")) {
		t.Errorf("sorted by doubt: %v with doubts %v", shown, d)
	}
	eventually(t, "two rows showing the model's doubt", func() bool {
		return len(find(m.worklist.list, func(o fyne.CanvasObject) bool {
			l, ok := o.(*widget.Label)
			return ok && strings.Contains(l.Text, "model's doubt 0.")
		})) == 2
	})
	// From whichever case, done, next goes to the most doubtful left.
	tapCase(t, m, "ph1")
	wait(t, m.worklist.busy)
	ctrl(t, m, fyne.KeyReturn)
	if got := currentCase(m); got != first {
		t.Errorf("done, next opened %s, want %s, the case the model doubts most", got, first)
	}
}
