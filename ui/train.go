package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/trainjob"
)

// Choices of the training dialog that are not a profile or a case.
const (
	profileAuto = "automatic (gpu with a GPU, else cpu30)"
	valDrawn    = "drawn by the seed (3 or more done cases)"
	defaultUNet = "the app's default U-Net"
)

// trainTools are the learning loop's menu items (Segment menu): training
// a model on the open dataset's done cases as a job, its log, and the
// choice of the segmentation model among the dataset's.
type trainTools struct {
	m *MainWindow
	// opt are the defaults a training starts with (the tests' trainer).
	opt app.TrainOptions

	trainItem, logItem, modelItem *fyne.MenuItem

	// The training dialog's fields, while it is shown.
	name    *keyEntry
	profile *widget.Select
	seed    *keyEntry
	valCase *widget.Select
	info    *widget.Label

	// ended is closed once the latest training's end has been shown;
	// probed once the latest probe for PyTorch has been shown. Tests wait
	// on them.
	ended, probed chan struct{}
	logLines      *widget.List
}

func newTrainTools(m *MainWindow) *trainTools {
	t := &trainTools{m: m, ended: make(chan struct{}), probed: make(chan struct{})}
	close(t.ended)
	close(t.probed)
	t.trainItem = fyne.NewMenuItem("Train on this dataset…", t.showTrain)
	t.logItem = fyne.NewMenuItem("Training log…", t.showLog)
	t.modelItem = fyne.NewMenuItem("Segmentation model…", t.showModels)
	t.enable()
	return t
}

// menuItems are the Segment menu's items of the learning loop.
func (t *trainTools) menuItems() []*fyne.MenuItem {
	return []*fyne.MenuItem{t.trainItem, t.logItem, t.modelItem}
}

// work returns the open dataset, nil when none is.
func (t *trainTools) work() *app.Work { return t.m.worklist.work }

// enable enables the items in dataset mode: training where the dataset
// can be written, the log once there is one.
func (t *trainTools) enable() {
	w := t.work()
	t.trainItem.Disabled = w == nil || w.Dataset().ReadOnly()
	t.modelItem.Disabled = w == nil
	t.logItem.Disabled = w == nil || w.LastTraining() == nil
	if mm := t.m.win.MainMenu(); mm != nil {
		mm.Refresh()
	}
}

// doneCases returns the dataset's cases marked done.
func doneCases(w *app.Work) []string {
	var out []string
	for _, e := range w.Worklist() {
		if e.Err == nil && e.State.Status == dataset.Done {
			out = append(out, e.Case.ID)
		}
	}
	return out
}

// showTrain asks how to train, and trains: a job with progress and
// cancel in the jobs bar.
func (t *trainTools) showTrain() {
	w := t.work()
	if w == nil || w.Dataset().ReadOnly() {
		return
	}
	done := doneCases(w)
	t.name = newKeyEntry()
	t.name.SetText("model-" + time.Now().Format("20060102-150405"))
	t.name.Validator = func(s string) error { return dataset.ValidID(s) }
	t.profile = widget.NewSelect(append([]string{profileAuto}, trainjob.Profiles...), nil)
	t.profile.SetSelected(profileAuto)
	if t.opt.Profile != "" {
		t.profile.SetSelected(t.opt.Profile)
	}
	t.seed = newKeyEntry()
	t.seed.SetText(strconv.Itoa(t.opt.Seed))
	t.seed.Validator = func(s string) error {
		_, err := strconv.Atoi(strings.TrimSpace(s))
		return err
	}
	t.valCase = widget.NewSelect(append([]string{valDrawn}, done...), nil)
	t.valCase.SetSelected(valDrawn)
	t.info = widget.NewLabel("")
	t.info.Wrapping = fyne.TextWrapWord
	cases := "No case is marked done yet: mark the cases whose labels are finished as done (Ctrl+Enter), then train."
	if len(done) > 0 {
		cases = fmt.Sprintf("%d done cases: %s. One is held out for validation when 3 or more are done.", len(done), strings.Join(done, ", "))
	}
	t.info.SetText(cases + "\nPyTorch: looking…")
	t.probePyTorch(cases)
	d := dialog.NewForm("Train a model on this dataset", "Train", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Name", t.name),
		widget.NewFormItem("Profile", t.profile),
		widget.NewFormItem("Seed", t.seed),
		widget.NewFormItem("Validation case", t.valCase),
		widget.NewFormItem("", t.info),
	}, func(ok bool) {
		if ok {
			t.train()
		}
	}, t.m.win)
	d.Resize(fyne.NewSize(620, 380))
	t.m.askText(d, t.name)
}

// probePyTorch looks for PyTorch in the background and says in the
// dialog what was found, or what to install.
func (t *trainTools) probePyTorch(cases string) {
	probed := make(chan struct{})
	t.probed = probed
	info := t.info
	go func() {
		defer close(probed)
		py, err := app.FindPyTorch(context.Background(), t.opt.Python)
		fyne.DoAndWait(func() {
			var s string
			switch {
			case err != nil:
				s = "PyTorch was not found, so this app cannot train. " + err.Error()
			case py.GPUs > 0:
				s = fmt.Sprintf("PyTorch %s (%s), %d GPUs.", py.Torch, py.Exe, py.GPUs)
			default:
				s = fmt.Sprintf("PyTorch %s (%s), no GPU: the cpu30 profile takes about 30 minutes on 2 cores.", py.Torch, py.Exe)
			}
			info.SetText(cases + "\n" + s)
		})
	}()
}

// train starts a training with the dialog's choices.
func (t *trainTools) train() {
	w := t.work()
	if w == nil {
		return
	}
	o := t.opt
	o.Name = strings.TrimSpace(t.name.Text)
	o.Profile = ""
	if p := t.profile.Selected; p != profileAuto {
		o.Profile = p
	}
	o.Seed, _ = strconv.Atoi(strings.TrimSpace(t.seed.Text))
	o.ValCase = ""
	if v := t.valCase.Selected; v != valDrawn {
		o.ValCase = v
	}
	tr, err := w.Train(o)
	if err != nil {
		t.m.showError(w.Dataset().Dir, err)
		return
	}
	t.enable()
	ended := make(chan struct{})
	t.ended = ended
	go func() {
		defer close(ended)
		err := tr.Job.Wait()
		fyne.DoAndWait(func() { t.trained(w, tr, err) })
	}()
}

// trained says how the training ended.
func (t *trainTools) trained(w *app.Work, tr *app.Training, err error) {
	t.enable()
	var ce *dataset.CheckError
	switch {
	case app.Canceled(err):
		t.m.say("training "+tr.Name+" cancelled; no model written", false)
	case errors.As(err, &ce):
		var lines []string
		for _, p := range ce.Report.Problems {
			lines = append(lines, "• "+p.String())
		}
		l := widget.NewLabel(err.Error() + ". Nothing was trained; fix these first (polyseg dataset check says the same):\n" + strings.Join(lines, "\n"))
		l.Wrapping = fyne.TextWrapWord
		dialog.NewCustom("The dataset cannot be trained on", "Close", container.NewVScroll(l), t.m.win).Show()
	case err != nil:
		t.m.showError(w.Dataset().Dir, err)
	default:
		res := tr.Result()
		val := "no validation (fewer than 3 done cases)"
		if res.ValidationCase != "" {
			var names []string
			for _, l := range res.Manifest.Labels {
				names = append(names, l.Name)
			}
			val = "validation on " + res.ValidationCase + ": " + trainjob.FormatDice(res.Validation, names...)
		}
		t.m.say(fmt.Sprintf("model %s trained and chosen for Segment; %s", tr.Name, val), false)
		t.m.worklist.modelChanged()
	}
}

// showLog shows the latest training's log, kept up to date while shown.
func (t *trainTools) showLog() {
	w := t.work()
	if w == nil || w.LastTraining() == nil {
		return
	}
	tr := w.LastTraining()
	lines := tr.Log()
	list := widget.NewList(func() int { return len(lines) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= 0 && i < len(lines) {
				o.(*widget.Label).SetText(lines[i])
			}
		})
	t.logLines = list
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			fresh := tr.Log()
			fyne.Do(func() {
				if len(fresh) != len(lines) {
					atEnd := len(lines) == 0
					lines = fresh
					list.Refresh()
					if atEnd || len(lines) > 0 {
						list.ScrollToBottom()
					}
				}
			})
		}
	}()
	d := dialog.NewCustom("Training log: "+tr.Name, "Close", list, t.m.win)
	d.SetOnClosed(func() { close(stop) })
	d.Resize(fyne.NewSize(900, 560))
	t.m.showDialog(d)
	list.ScrollToBottom()
}

// showModels lets the user choose the segmentation model among the
// dataset's and the app's default.
func (t *trainTools) showModels() {
	w := t.work()
	if w == nil {
		return
	}
	list, err := w.Models()
	if err != nil {
		t.m.showError(w.Dataset().Dir, err)
		return
	}
	options := []string{defaultUNet}
	byOption := map[string]app.ModelInfo{}
	chosen := defaultUNet
	for _, mi := range list {
		opt := mi.Name + " (" + mi.Time.Local().Format("2006-01-02 15:04") + ")"
		if mi.Err != nil {
			opt += " — unusable"
		}
		options = append(options, opt)
		byOption[opt] = mi
		if mi.Chosen {
			chosen = opt
		}
	}
	detail := widget.NewLabel("")
	detail.Wrapping = fyne.TextWrapWord
	radio := widget.NewRadioGroup(options, func(opt string) { detail.SetText(describeModel(byOption[opt], opt == defaultUNet)) })
	radio.SetSelected(chosen)
	if len(list) == 0 {
		detail.SetText("This dataset has no model yet: Segment > Train on this dataset… makes one in " + w.ModelsDir() + ".")
	}
	content := container.NewBorder(radio, nil, nil, nil, container.NewVScroll(detail))
	d := dialog.NewCustomConfirm("Segmentation model", "Use", "Cancel", content, func(ok bool) {
		if !ok || radio.Selected == "" {
			return
		}
		dir := ""
		if radio.Selected != defaultUNet {
			mi := byOption[radio.Selected]
			if mi.Err != nil {
				t.m.showError(mi.Dir, mi.Err)
				return
			}
			dir = mi.Dir
		}
		if err := w.UseModel(dir); err != nil {
			t.m.showError(dir, err)
			return
		}
		t.m.worklist.modelChanged()
		t.m.say("segmentation model: "+strings.TrimSuffix(radio.Selected, " — unusable"), false)
	}, t.m.win)
	d.Resize(fyne.NewSize(640, 460))
	t.m.showDialog(d)
}

// describeModel says what a model segments and how it was trained.
func describeModel(mi app.ModelInfo, builtin bool) string {
	if builtin {
		return "The U-Net that comes with the app (liver), or --model's; used where the dataset has no model of its own."
	}
	if mi.Err != nil {
		return mi.Dir + ": " + mi.Err.Error()
	}
	tr := mi.Training
	parts := []string{mi.Dir}
	labels := slices.Clone(mi.Labels)
	if len(labels) > 12 {
		labels = append(labels[:12], fmt.Sprintf("… (%d in all)", len(mi.Labels)))
	}
	parts = append(parts, "Labels: "+strings.Join(labels, ", "))
	if len(tr.Cases) > 0 {
		parts = append(parts, fmt.Sprintf("Trained on %d cases: %s", len(tr.Cases), strings.Join(tr.Cases, ", ")))
	}
	if tr.ValidationCase != "" {
		parts = append(parts, "Validation on "+tr.ValidationCase+" (3D Dice): "+trainjob.FormatDice(tr.Validation, mi.Labels...))
	} else {
		parts = append(parts, "No validation case (fewer than 3 done cases).")
	}
	var how []string
	if tr.Profile != "" {
		how = append(how, "profile "+tr.Profile)
	}
	if tr.Pretraining != "" {
		how = append(how, "pre-training "+tr.Pretraining)
	}
	if tr.Seed != nil {
		how = append(how, "seed "+strconv.Itoa(*tr.Seed))
	}
	if len(how) > 0 {
		parts = append(parts, strings.Join(how, ", "))
	}
	return strings.Join(parts, "\n")
}
