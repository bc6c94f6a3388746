package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/dataset"
)

// worklistWidth is the dataset panel's width: a case ID, its status and
// who worked on it fit on two lines.
const worklistWidth = 300

// worklistRefresh is how often the worklist is read again while a dataset
// is open, to show what the other annotators are doing.
const worklistRefresh = 10 * time.Second

// filterAll and filterRemaining are the filter's choices besides the
// statuses.
const (
	filterAll       = "all cases"
	filterRemaining = "remaining (to do, in progress)"
)

// worklistPanel is the dataset mode's panel left of the views: the cases
// of the open dataset with their status, who last worked on them, their
// editing time and note, and who has them open; under the list, the open
// case's status and note and the buttons that move through the cases. It
// is hidden while no dataset is open. Moving to another case runs as a job
// (app.Work.Open): the case open before is saved into the dataset and
// released on the way.
type worklistPanel struct {
	m    *MainWindow
	work *app.Work
	// opt is what datasets are opened with (the tests name the
	// annotator).
	opt app.WorkOptions
	// fileDir, when set, is where the panel's file dialogs start.
	fileDir string
	// every is how often the worklist is read again.
	every time.Duration

	box      *fyne.Container
	title    *widget.Label
	summary  *widget.Label
	readOnly *fyne.Container // the plain folder's banner
	filter   *widget.Select
	order    *widget.Select
	list     *widget.List
	entries  []dataset.Entry    // every case, as last read
	shown    []dataset.Entry    // those listed, filtered and sorted
	doubts   map[string]float64 // the model's doubt per case, when sorted by it
	doubtJob *app.Job           // the latest measuring of the doubts
	// reselecting is set while the list's selection is moved to the open
	// case, so that OnSelected does not take it for the user's choice.
	reselecting bool

	caseLabel   *widget.Label
	lost        *widget.Label
	status      *widget.Select
	quietStatus bool // set while the status choice is set from the state
	note        *keyEntry
	noteOf      string // the case the note entry holds
	prev, next  *widget.Button
	doneNext    *widget.Button
	save        *widget.Button

	menuItems []*fyne.MenuItem // the Dataset menu's, enabled in dataset mode
	makeItem  *fyne.MenuItem   // Make nnU-Net dataset…, for plain folders

	// busy is closed when the latest change the user started (a case
	// opened, the dataset closed) has ended and is shown, with whatever it
	// went on to; tests wait on it. The functions that change cases take
	// user: false for a change that goes on from another, whose busy
	// covers it.
	busy        chan struct{}
	stopRefresh chan struct{}
}

func newWorklistPanel(m *MainWindow) *worklistPanel {
	p := &worklistPanel{m: m, busy: make(chan struct{}), every: worklistRefresh}
	close(p.busy)
	p.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.title.Truncation = fyne.TextTruncateEllipsis
	p.summary = widget.NewLabel("")
	p.summary.Wrapping = fyne.TextWrapWord
	banner := widget.NewLabel("A folder of scans is read-only: edits are not saved into it.")
	banner.Wrapping = fyne.TextWrapWord
	p.readOnly = container.NewVBox(banner, widget.NewButton("Make nnU-Net dataset…", p.showMakeDataset))
	p.readOnly.Hide()

	filters := []string{filterAll, filterRemaining}
	for _, s := range dataset.Statuses {
		filters = append(filters, s.String())
	}
	// The worklist's controls give the keys back to the views once used
	// (focus.go); its note is a text field, Enter or Esc gives them back.
	p.filter = widget.NewSelect(filters, func(string) { p.show(); p.m.giveKeysBack(p.filter) })
	p.filter.SetSelected(filterAll)
	var orders []string
	for _, k := range app.SortKeys {
		orders = append(orders, k.String())
	}
	p.order = widget.NewSelect(orders, func(string) {
		p.show()
		p.modelChanged()
		p.m.giveKeysBack(p.order)
	})
	p.order.SetSelected(app.ByCase.String())

	p.list = widget.NewList(
		func() int { return len(p.shown) },
		func() fyne.CanvasObject {
			top := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			top.Truncation = fyne.TextTruncateEllipsis
			sub := widget.NewLabel("")
			sub.Truncation = fyne.TextTruncateEllipsis
			sub.SizeName = theme.SizeNameCaptionText
			return container.NewVBox(top, sub)
		},
		p.updateRow,
	)
	p.list.OnSelected = func(n widget.ListItemID) {
		if p.reselecting || n < 0 || n >= len(p.shown) {
			return
		}
		p.openCase(p.shown[n].Case.ID, app.CaseOptions{}, true)
		p.m.giveKeysBack(p.list)
	}

	p.caseLabel = widget.NewLabel("No case open")
	p.caseLabel.Wrapping = fyne.TextWrapWord
	p.lost = widget.NewLabel("")
	p.lost.Wrapping = fyne.TextWrapWord
	p.lost.Importance = widget.DangerImportance
	p.lost.Hide()
	var statuses []string
	for _, s := range dataset.Statuses {
		statuses = append(statuses, s.String())
	}
	p.status = widget.NewSelect(statuses, func(s string) { p.statusChosen(s); p.m.giveKeysBack(p.status) })
	p.note = newKeyEntry()
	p.note.window = p.m // Ctrl+Enter: done, next, from the note
	p.note.SetPlaceHolder("note on this case (Enter saves it)")
	p.note.OnSubmitted = func(string) { p.saveNote(); p.m.giveKeysBack(p.note) }
	p.note.onEsc = func() { p.m.giveKeysBack(p.note) }
	p.prev = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { p.step(-1, false, "") })
	p.next = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { p.step(1, false, "") })
	p.doneNext = widget.NewButtonWithIcon("Done, next", theme.ConfirmIcon(), p.doneAndNext)
	p.doneNext.Importance = widget.HighImportance
	p.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), p.saveCase)

	top := container.NewVBox(p.title, p.summary, p.readOnly,
		container.NewGridWithColumns(2, p.filter, p.order))
	bottom := container.NewVBox(widget.NewSeparator(), p.caseLabel, p.lost,
		container.NewBorder(nil, nil, widget.NewLabel("Status"), nil, p.status), p.note,
		container.NewBorder(nil, nil, p.prev, p.next, p.doneNext), p.save)
	p.box = container.New(widthLayout{worklistWidth}, container.NewBorder(top, bottom, nil, nil, p.list))
	p.box.Hide()
	p.enable()
	return p
}

// widthLayout gives its objects a fixed minimum width.
type widthLayout struct{ width float32 }

func (l widthLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

func (l widthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(l.width, h)
}

// active reports whether a dataset is open.
func (p *worklistPanel) active() bool { return p.work != nil }

// menu returns the Dataset menu.
func (p *worklistPanel) menu() *fyne.Menu {
	item := func(label string, run func()) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, run)
		p.menuItems = append(p.menuItems, it)
		return it
	}
	next := item("Next case", func() { p.step(1, false, "") })
	next.Shortcut = shortcutOf(fyne.KeyN)
	prev := item("Previous case", func() { p.step(-1, false, "") })
	prev.Shortcut = shortcutOf(fyne.KeyP)
	done := item("Done, next case", p.doneAndNext)
	done.Shortcut = shortcutOf(fyne.KeyReturn)
	save := item("Save case", p.saveCase)
	review := item("Needs review, next case", func() { p.step(1, true, dataset.NeedsReview) })
	skip := item("Skip case", func() { p.step(1, true, dataset.Skipped) })
	reload := item("Reload worklist", func() {
		p.refresh()
		p.measureDoubts(true) // cases others added or reopened
	})
	p.makeItem = item("Make nnU-Net dataset…", p.showMakeDataset)
	p.enable()
	return fyne.NewMenu("Dataset", next, prev, done, save, fyne.NewMenuItemSeparator(), review, skip,
		fyne.NewMenuItemSeparator(), reload, p.makeItem)
}

// enable enables the Dataset menu in dataset mode, and its conversion
// for a plain folder.
func (p *worklistPanel) enable() {
	for _, it := range p.menuItems {
		it.Disabled = p.work == nil
	}
	if p.makeItem != nil {
		p.makeItem.Disabled = p.work == nil || !p.work.Dataset().ReadOnly()
	}
	if p.m.train != nil {
		p.m.train.enable()
	}
	if mm := p.m.win.MainMenu(); mm != nil {
		mm.Refresh()
	}
}

// closedChan returns a closed channel.
func closedChan() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// OpenDataset opens the dataset in folder dir (nnU-Net, Decathlon or a
// plain folder of scans) in the worklist panel, after leaving the dataset
// open before, and opens case id, or else the first case still to do.
// The channel is closed when that is done and shown, or has failed and
// said so.
func (m *MainWindow) OpenDataset(dir, id string) <-chan struct{} {
	return m.worklist.open(dir, id, true)
}

func (p *worklistPanel) open(dir, id string, user bool) <-chan struct{} {
	if p.work != nil {
		return p.closeThen(app.LeaveOptions{}, func() <-chan struct{} { return p.open(dir, id, false) }, user)
	}
	done := make(chan struct{})
	if user {
		p.busy = done
	}
	var w *app.Work
	opt := p.opt
	heard := opt.OnChange
	opt.OnChange = func() {
		// The panel reads the worklist again after each change it makes;
		// what it does not make is a lock lost to someone else.
		fyne.Do(p.noticeLost)
		fyne.Do(p.doubtsChanged)
		if heard != nil {
			heard()
		}
	}
	job := p.m.session.RunJob("Open dataset "+filepath.Base(dir), func(ctx context.Context, pr app.Progress) error {
		pr.Report(-1, "listing cases")
		var err error
		w, err = app.OpenDataset(ctx, p.m.session, dir, opt)
		return err
	})
	go func() {
		defer close(done)
		err := job.Wait()
		var next <-chan struct{}
		fyne.DoAndWait(func() {
			if err != nil {
				p.m.showError(dir, err)
				return
			}
			p.work = w
			p.stopRefresh = make(chan struct{})
			go p.refreshEvery(w, p.stopRefresh, p.every)
			p.box.Show()
			p.enable()
			p.load(w.Worklist())
			if id == "" {
				id, _ = app.StepCase(p.entries, "", 1, true)
			}
			if id != "" {
				next = p.openCase(id, app.CaseOptions{}, false)
			}
		})
		if next != nil {
			<-next
		}
	}()
	return done
}

// refreshEvery reads w's worklist again now and then, until stop: on
// its own goroutine, as reading a state and a lock file per case from a
// network share takes a while, then shown on Fyne's.
func (p *worklistPanel) refreshEvery(w *app.Work, stop chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		w.CheckLock()
		entries := w.Worklist()
		fyne.Do(func() {
			if p.work == w {
				p.load(entries)
			}
		})
	}
}

// noticeLost shows the worklist again when the open case's lock was
// found lost and the panel does not say so yet.
func (p *worklistPanel) noticeLost() {
	if p.work == nil {
		return
	}
	if info, ok := p.work.Current(); ok && info.Lost != nil && !p.lost.Visible() {
		p.refresh()
	}
}

// refresh reads the worklist again, and the open case's lock, and shows
// them.
func (p *worklistPanel) refresh() {
	if p.work == nil {
		return
	}
	p.work.CheckLock()
	p.load(p.work.Worklist())
}

// load shows entries, every case of the dataset.
func (p *worklistPanel) load(entries []dataset.Entry) {
	p.entries = entries
	d := p.work.Dataset()
	p.title.SetText(d.Name())
	counts := map[dataset.Status]int{}
	for _, e := range entries {
		counts[e.State.Status]++
	}
	parts := []string{fmt.Sprintf("%s, %d cases", d.Layout, len(entries))}
	for _, s := range dataset.Statuses {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	p.summary.SetText(strings.Join(parts, "; "))
	if d.ReadOnly() {
		p.readOnly.Show()
	} else {
		p.readOnly.Hide()
	}
	p.show()
	p.showCase()
}

// show filters and sorts the entries into the list.
func (p *worklistPanel) show() {
	if p.list == nil {
		return // the selects fire while the panel is being built
	}
	var keep []dataset.Status
	switch f := p.filter.Selected; f {
	case filterAll, "":
	case filterRemaining:
		keep = []dataset.Status{dataset.ToDo, dataset.InProgress}
	default:
		if s, err := dataset.ParseStatus(f); err == nil {
			keep = []dataset.Status{s}
		}
	}
	p.shown = app.FilterEntries(p.entries, keep...)
	key := app.ByCase
	for _, k := range app.SortKeys {
		if k.String() == p.order.Selected {
			key = k
		}
	}
	p.doubts = nil
	if key == app.ByDoubt {
		p.doubts = p.work.Doubts()
	}
	app.SortEntriesBy(p.shown, key, p.doubts)
	p.list.Refresh()
	p.reselect()
}

// reselect selects the open case's row, if it is listed.
func (p *worklistPanel) reselect() {
	cur := p.current()
	n := slices.IndexFunc(p.shown, func(e dataset.Entry) bool { return e.Case.ID == cur })
	p.reselecting = true
	defer func() { p.reselecting = false }()
	if n < 0 {
		p.list.UnselectAll()
		return
	}
	p.list.Select(n)
}

// current returns the open case's ID, "" when none.
func (p *worklistPanel) current() string {
	if p.work == nil {
		return ""
	}
	info, _ := p.work.Current()
	return info.ID
}

// updateRow shows entry n in a row of the list.
func (p *worklistPanel) updateRow(n widget.ListItemID, o fyne.CanvasObject) {
	if n < 0 || n >= len(p.shown) {
		return
	}
	e := p.shown[n]
	rows := o.(*fyne.Container).Objects
	top, sub := rows[0].(*widget.Label), rows[1].(*widget.Label)
	text := e.Case.ID + " — " + e.State.Status.String()
	if e.Case.ID == p.current() {
		text = "▶ " + text
	}
	top.SetText(text)
	var parts []string
	if e.State.User != "" {
		parts = append(parts, e.State.User)
	}
	if e.State.EditTime > 0 {
		parts = append(parts, formatEditTime(e.State.EditTime))
	}
	switch {
	case e.Err != nil:
		parts = append(parts, "unreadable: "+e.Err.Error())
	case e.Lock.Held && e.Case.ID == p.current():
	case e.Lock.Held && e.Lock.Stale:
		parts = append(parts, "stale lock of "+e.Lock.Holder.User)
	case e.Lock.Held:
		parts = append(parts, fmt.Sprintf("open: %s on %s since %s", e.Lock.Holder.User, e.Lock.Holder.Host,
			e.Lock.Holder.Since.Local().Format("15:04")))
	}
	if !e.Case.Labeled {
		parts = append(parts, "no labels")
	}
	if d, ok := p.doubts[e.Case.ID]; ok {
		parts = append(parts, fmt.Sprintf("model's doubt %.2f", d))
	}
	if e.State.Note != "" {
		parts = append(parts, strings.ReplaceAll(e.State.Note, "\n", " "))
	}
	sub.SetText(strings.Join(parts, " · "))
}

// formatEditTime writes an editing time to the second: "1h02m", "3m12s".
func formatEditTime(d time.Duration) string {
	d = d.Round(time.Second)
	if d >= time.Hour {
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	if d >= time.Minute {
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// labelsChanged shows the open case's line again, which says whether it
// has unsaved edits.
func (p *worklistPanel) labelsChanged() {
	if p.work != nil {
		p.showCase()
	}
}

// showCase shows the open case under the list.
func (p *worklistPanel) showCase() {
	info, ok := p.work.Current()
	for _, w := range []fyne.Disableable{p.status, p.note, p.save, p.doneNext} {
		if ok && !info.ReadOnly {
			w.Enable()
		} else {
			w.Disable()
		}
	}
	if !ok {
		p.caseLabel.SetText("No case open: choose one in the list, or Ctrl+N")
		p.lost.Hide()
		p.noteOf = ""
		p.note.SetText("")
		return
	}
	text := fmt.Sprintf("Case %s: %s", info.ID, info.State.Status)
	if t := info.State.EditTime + info.EditTime; t > 0 {
		text += ", " + formatEditTime(t) + " of editing"
	}
	if info.ReadOnly {
		text += " (read-only)"
	} else if info.Unsaved {
		text += ", unsaved edits"
	}
	p.caseLabel.SetText(text)
	if info.Lost != nil {
		p.lost.SetText("This case is no longer yours: " + lostWho(info.Lost) +
			". Your edits stay here: save them elsewhere (File > Export labels) before you leave the case.")
		p.lost.Show()
	} else {
		p.lost.Hide()
	}
	p.quietStatus = true
	p.status.SetSelected(info.State.Status.String())
	p.quietStatus = false
	if p.noteOf != info.ID {
		p.noteOf = info.ID
		p.note.SetText(info.State.Note)
	}
}

// lostWho says who took a lost case over.
func lostWho(err error) string {
	var le *dataset.LockedError
	if errors.As(err, &le) {
		return "taken over by " + le.Holder.String()
	}
	msg := err.Error()
	if i := strings.Index(msg, "taken over by "); i >= 0 {
		return msg[i:]
	}
	return msg
}

// statusChosen sets the open case's status from the choice.
func (p *worklistPanel) statusChosen(text string) {
	if p.quietStatus || p.work == nil {
		return
	}
	if !p.idle() {
		// The state is written once the case change under way is done.
		p.m.say("wait for the case to open, then set its status", false)
		p.refresh()
		return
	}
	st, err := dataset.ParseStatus(text)
	if err == nil {
		err = p.work.SetStatus(st)
	}
	if err != nil {
		p.m.showError("", err)
	}
	p.refresh()
}

// saveNote writes the note entry's text as the open case's note, when it
// changed.
func (p *worklistPanel) saveNote() {
	if p.work == nil {
		return
	}
	info, ok := p.work.Current()
	if !ok || info.ReadOnly || info.ID != p.noteOf || info.State.Note == p.note.Text || !p.idle() {
		return
	}
	if err := p.work.SetNote(p.note.Text); err != nil {
		p.m.showError("", err)
	}
	p.refresh()
}

// openCase opens case id in the background (app.Work.Open), asking the
// user where the dataset needs their word: a case open elsewhere, a stale
// lock to take over, edits that cannot be saved. The channel is closed
// when the case is shown, or the attempt has ended.
func (p *worklistPanel) openCase(id string, o app.CaseOptions, user bool) <-chan struct{} {
	if p.work == nil {
		return closedChan()
	}
	p.saveNote()
	w := p.work
	done := make(chan struct{})
	if user {
		p.busy = done
	}
	var warnings []string
	job := p.m.session.RunJob("Open case "+id, func(ctx context.Context, pr app.Progress) error {
		var err error
		warnings, err = w.Open(ctx, id, o, pr)
		return err
	})
	go func() {
		var then <-chan struct{}
		defer func() {
			if then != nil {
				<-then
			}
			close(done)
		}()
		err := job.Wait()
		fyne.DoAndWait(func() {
			p.refresh()
			if err != nil {
				then = p.openFailed(id, o, err)
				return
			}
			p.m.win.SetTitle(id + " – " + w.Dataset().Name() + " – polyseg")
			if len(warnings) > 0 {
				p.m.say(id+": "+strings.Join(warnings, "; "), false)
			}
		})
		if err == nil {
			// A crash with unsaved edits left an autosave of this case.
			if a := p.m.session.FindAutosave(); a != nil {
				fyne.DoAndWait(func() { p.m.offerAutosave(a) })
			}
		}
	}()
	return done
}

// openFailed tells the user why case id did not open, and offers what
// can be done; the channel is closed when whatever was started ends.
func (p *worklistPanel) openFailed(id string, o app.CaseOptions, err error) <-chan struct{} {
	var le *dataset.LockedError
	var ue *app.UnsavedError
	switch {
	case app.Canceled(err):
	case errors.As(err, &le) && le.Stale:
		holder := le.Holder
		msg := fmt.Sprintf("Case %s is locked by %s,\nwho looks gone: %s.\n\nIf they are still working on it, they will not be able to save their edits into the dataset.\nTake the case over?", id, holder, le.Why)
		d := dialog.NewConfirm("Take over case "+id+"?", msg, func(yes bool) {
			if yes {
				o.TakeOver = &holder
				p.openCase(id, o, true)
			}
		}, p.m.win)
		d.SetConfirmText("Take over")
		d.SetDismissText("Cancel")
		p.m.showDialog(d)
	case errors.As(err, &le):
		p.m.showInfo("Case "+id+" is open elsewhere",
			fmt.Sprintf("Case %s is open in the app of %s.\nChoose another case, or ask them to close it.", id, le.Holder))
	case errors.As(err, &ue):
		p.askUnsaved(ue, func(user bool) <-chan struct{} {
			o.Leave.Discard = true
			return p.openCase(id, o, user)
		})
	default:
		p.m.showError(id, err)
	}
	return nil
}

// askUnsaved explains that the open case's edits cannot go into the
// dataset, and offers to save them to a file first; retry leaves the case
// without them once they are saved, or once the user chose to drop them.
func (p *worklistPanel) askUnsaved(ue *app.UnsavedError, retry func(user bool) <-chan struct{}) {
	var msg string
	if errors.Is(ue.Err, dataset.ErrLost) {
		msg = fmt.Sprintf("Case %s is no longer yours: %s.\nYour label edits cannot be saved into the dataset; they are still here.\n\nSave them to a file of your own before you leave the case?", ue.Case, lostWho(ue.Err))
	} else {
		msg = fmt.Sprintf("This folder of scans is read-only: your label edits of case %s cannot be saved into it.\n(Dataset > Make nnU-Net dataset… makes it a dataset that can be saved into.)\n\nSave them to a file of your own before you leave the case?", ue.Case)
	}
	var d *dialog.CustomDialog
	saveBtn := widget.NewButtonWithIcon("Save elsewhere…", theme.DocumentSaveIcon(), func() {
		d.Hide()
		p.exportThen(ue.Case, retry)
	})
	saveBtn.Importance = widget.HighImportance
	drop := widget.NewButton("Drop my edits", func() {
		d.Hide()
		retry(true)
	})
	stay := widget.NewButton("Stay on the case", func() { d.Hide() })
	text := widget.NewLabel(msg)
	d = dialog.NewCustomWithoutButtons("Your edits of case "+ue.Case+" cannot be saved into the dataset", text, p.m.win)
	d.SetButtons([]fyne.CanvasObject{stay, drop, saveBtn})
	p.m.showDialog(d)
}

// exportThen asks where to save the open case's labels, writes them, and
// calls then once they are written.
func (p *worklistPanel) exportThen(id string, then func(user bool) <-chan struct{}) {
	p.saveFile(id+"_labels.nii.gz", func(path string) {
		if !strings.HasSuffix(path, ".nii") && !strings.HasSuffix(path, ".nii.gz") {
			p.m.showError(path, errors.New("label files are NIfTI: name it .nii.gz or .nii"))
			return
		}
		done := make(chan struct{})
		p.busy = done
		exported := p.m.ExportLabels(path)
		go func() {
			var next <-chan struct{}
			defer func() {
				if next != nil {
					<-next
				}
				close(done)
			}()
			<-exported
			fyne.DoAndWait(func() {
				// ExportLabels has shown its error, if any.
				if _, err := os.Stat(path); err == nil {
					next = then(false)
				}
			})
		}()
	})
}

// saveFile asks for a file to write, proposing name, and calls write
// with its path; the session writes it itself, atomically.
func (p *worklistPanel) saveFile(name string, write func(path string)) {
	d := p.m.saveDialog(name, write)
	if p.fileDir != "" {
		if l, err := storage.ListerForURI(storage.NewFileURI(p.fileDir)); err == nil {
			d.SetLocation(l)
		}
	}
	p.m.showDialog(d)
}

// step goes to the next (dir 1) or previous (dir -1) case of the list as
// shown; with remaining, to the next one still to do or in progress,
// leaving the open case with status (if not empty). Without such a case,
// the status is set and the case stays open.
func (p *worklistPanel) step(dir int, remaining bool, status dataset.Status) <-chan struct{} {
	if p.work == nil {
		return closedChan()
	}
	if !p.idle() {
		return closedChan() // a case is opening: one change at a time
	}
	p.refresh()
	cur := p.current()
	list, from := p.shown, cur
	if remaining && dir > 0 && p.sortedByDoubt() {
		// The case the model doubts most of those left, wherever the open
		// one stands in the list.
		list = slices.DeleteFunc(slices.Clone(p.shown), func(e dataset.Entry) bool { return e.Case.ID == cur })
		from = ""
	}
	id, ok := app.StepCase(list, from, dir, remaining)
	if !ok {
		// No case to go to: the status is set, and the case stays open.
		if cur != "" && status != "" {
			p.saveNote()
			if err := p.work.SetStatus(status); err != nil {
				p.m.showError("", err)
			}
			p.refresh()
		}
		switch {
		case remaining:
			p.m.say("No other case is left to do.", false)
		case dir > 0:
			p.m.say("This is the last case of the list.", false)
		default:
			p.m.say("This is the first case of the list.", false)
		}
		return closedChan()
	}
	return p.openCase(id, app.CaseOptions{Leave: app.LeaveOptions{Status: status}}, true)
}

// idle reports whether no case change is under way.
func (p *worklistPanel) idle() bool {
	select {
	case <-p.busy:
		return true
	default:
		return false
	}
}

func (p *worklistPanel) doneAndNext() { p.step(1, true, dataset.Done) }

// saveCase saves the open case into the dataset, keeping it open.
func (p *worklistPanel) saveCase() {
	if p.work == nil {
		return
	}
	p.saveNote()
	w := p.work
	job := p.m.session.RunJob("Save case", func(ctx context.Context, _ app.Progress) error { return w.Save(ctx) })
	go func() {
		err := job.Wait()
		fyne.DoAndWait(func() {
			p.refresh()
			var ue *app.UnsavedError
			switch {
			case errors.As(err, &ue):
				p.askUnsaved(ue, func(bool) <-chan struct{} { return nil })
			case err != nil:
				p.m.showError(w.Dataset().Dir, err)
			default:
				p.m.say("case saved into "+w.Dataset().Dir, false)
			}
		})
	}()
}

// closeThen leaves the open case and closes the dataset, as o says, then
// runs then (nil: nothing). Edits that cannot be saved are asked about
// first; if the user stays, then does not run. The channel is closed when
// all of that has ended.
func (p *worklistPanel) closeThen(o app.LeaveOptions, then func() <-chan struct{}, user bool) <-chan struct{} {
	if p.work == nil {
		if then == nil {
			return closedChan()
		}
		return then()
	}
	p.saveNote()
	w := p.work
	done := make(chan struct{})
	if user {
		p.busy = done
	}
	job := p.m.session.RunJob("Close dataset", func(ctx context.Context, _ app.Progress) error {
		return w.Close(ctx, o)
	})
	go func() {
		var next <-chan struct{}
		defer func() {
			if next != nil {
				<-next
			}
			close(done)
		}()
		err := job.Wait()
		fyne.DoAndWait(func() {
			var ue *app.UnsavedError
			switch {
			case errors.As(err, &ue):
				p.askUnsaved(ue, func(user bool) <-chan struct{} {
					o.Discard = true
					return p.closeThen(o, then, user)
				})
				return
			case err != nil:
				p.m.showError(w.Dataset().Dir, err)
				return
			}
			p.closed()
			if then != nil {
				next = then()
			}
		})
	}()
	return done
}

// closed hides the panel once the dataset is closed.
func (p *worklistPanel) closed() {
	if p.stopRefresh != nil {
		close(p.stopRefresh)
		p.stopRefresh = nil
	}
	p.work = nil
	p.entries, p.shown = nil, nil
	p.box.Hide()
	p.enable()
	p.list.Refresh()
}

// showMakeDataset offers to make the open plain folder an nnU-Net dataset,
// in place or in another folder, as polyseg dataset init does.
func (p *worklistPanel) showMakeDataset() {
	if p.work == nil || !p.work.Dataset().ReadOnly() {
		return
	}
	src := p.work.Dataset()
	name := newKeyEntry()
	name.SetText(filepath.Base(src.Dir))
	folder := newKeyEntry()
	folder.SetText(src.Dir)
	hint := widget.NewLabel(fmt.Sprintf("Each of the %d cases is copied into imagesTr as NIfTI,\nits labels resampled onto it into labelsTr.\nThe same folder converts in place: the scans stay where they are.", len(src.Cases)))
	d := dialog.NewForm("Make nnU-Net dataset", "Make", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Name", name),
		widget.NewFormItem("Folder", folder),
		widget.NewFormItem("", hint),
	}, func(ok bool) {
		if ok {
			p.MakeDataset(folder.Text, name.Text)
		}
	}, p.m.win)
	d.Resize(fyne.NewSize(520, 260))
	p.m.askText(d, name)
}

// MakeDataset converts the open plain folder into an nnU-Net dataset in
// folder dir, named name, and opens it. The channel is closed once it is
// open, or the conversion has failed and said so.
func (p *worklistPanel) MakeDataset(dir, name string) <-chan struct{} {
	if p.work == nil {
		return closedChan()
	}
	src := p.work.Dataset()
	opt := p.opt.Dataset
	var results []dataset.ImportResult
	done := make(chan struct{})
	p.busy = done
	job := p.m.session.RunJob("Make nnU-Net dataset", func(ctx context.Context, pr app.Progress) error {
		var err error
		_, results, err = app.MakeNNUNet(ctx, src, dir, name, opt, pr)
		return err
	})
	go func() {
		var next <-chan struct{}
		defer func() {
			if next != nil {
				<-next
			}
			close(done)
		}()
		err := job.Wait()
		fyne.DoAndWait(func() {
			var failed []string
			for _, r := range results {
				if r.Err != nil && !errors.Is(r.Err, dataset.ErrExists) {
					failed = append(failed, fmt.Sprintf("%s: %v", r.ID, r.Err))
				}
			}
			if err != nil && len(failed) == 0 {
				p.m.showError(dir, err)
				return
			}
			if len(failed) > 0 {
				p.m.showInfo("Some cases were not added", strings.Join(failed, "\n"))
			}
			p.m.say(fmt.Sprintf("%s: %d cases converted into an nnU-Net dataset", dir, len(results)-len(failed)), false)
			next = p.open(dir, p.current(), false)
		})
	}()
	return done
}

// shortcutOf is Ctrl (Cmd on macOS) with key.
func shortcutOf(key fyne.KeyName) fyne.Shortcut {
	return &menuKey{key, fyne.KeyModifierShortcutDefault}
}

// openDatasetDialog asks for a dataset folder and opens it.
func (m *MainWindow) openDatasetDialog() {
	m.showDialog(dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			m.showError("", err)
			return
		}
		if u != nil {
			m.OpenDataset(u.Path(), "")
		}
	}, m.win))
}

// LeaveDataset saves the open dataset case into the dataset and releases
// it, at once and without asking. It is for the end of the program once
// the window is gone: Fyne's driver quits on SIGINT and SIGTERM, and on its
// Quit menu item, without the window's close, which would have asked.
// Edits that cannot be saved into the dataset go to the case's autosave,
// offered back when the case is opened again, and the case's lock is then
// kept, so that whoever opens it next is told it was left unsaved.
func (m *MainWindow) LeaveDataset() error {
	w := m.worklist.work
	if w == nil {
		return nil
	}
	err := w.Close(context.Background(), app.LeaveOptions{})
	if err != nil {
		if _, aerr := m.session.Autosave(); aerr != nil {
			err = errors.Join(err, aerr)
		}
	}
	return err
}

// sortedByDoubt reports whether the list is sorted by the model's doubt.
func (p *worklistPanel) sortedByDoubt() bool { return p.order.Selected == app.ByDoubt.String() }

// modelChanged measures the segmentation model's doubt about the cases
// left, in the background, when the list is sorted by it and the model
// is not the one last measured.
func (p *worklistPanel) modelChanged() { p.measureDoubts(false) }

// measureDoubts measures the doubts not known yet when the list is sorted
// by them; force measures again for the model measured last.
func (p *worklistPanel) measureDoubts(force bool) {
	if p.work == nil || !p.sortedByDoubt() {
		return
	}
	job, err := p.work.ComputeDoubts(force)
	if err != nil {
		p.m.say("model's doubt: "+err.Error(), true)
		return
	}
	if job != nil && job != p.doubtJob {
		p.doubtJob = job
		go func() {
			if err := job.Wait(); err != nil && !app.Canceled(err) {
				fyne.Do(func() { p.m.say("model's doubt: "+oneLine(err.Error()), true) })
			}
		}()
	}
}

// oneLine joins the lines of s.
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

// doubtsChanged sorts the list again as doubts become known.
func (p *worklistPanel) doubtsChanged() {
	if p.work != nil && p.sortedByDoubt() {
		p.show()
	}
}
