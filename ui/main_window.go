package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/stats"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// autosaveInterval is how often unsaved label edits are written to the
// autosave file: short enough that a crash loses little work, long enough
// that writing a large label volume stays rare.
const autosaveInterval = 30 * time.Second

// MainWindow is the app's window: three linked views of the scan, the
// window and overlay controls, a status line and the jobs bar.
type MainWindow struct {
	win     fyne.Window
	driver  fyne.Driver // the app's, which knows the modifiers held
	session *app.Session
	dialogs []modal // the dialogs open, oldest first (focus.go)

	views     [3]*SliceView // axial, coronal, sagittal
	active    *SliceView    // the view keys go to: the one last hovered
	maximised *SliceView    // nil when all three are shown
	view3d    *View3D       // the fourth cell (view3d.go)
	active3D  bool          // the 3D view was hovered last: keys act on it
	max3D     bool          // the 3D view is maximised
	window    *windowPresets
	grid      *fyne.Container
	viewArea  *fyne.Container
	hint      *widget.Label

	sidebar  *sidebar
	worklist *worklistPanel // the dataset mode's panel (worklist.go)
	train    *trainTools    // training on the dataset, the model's choice (train.go)
	status   *widget.Label
	jobs     *jobsBar
	tools    *modelTools
	prop     *propagateTools   // Propagate and the confidence strip (propagate.go)
	axial    fyne.CanvasObject // the axial view with its confidence strip
	toolbar  *toolbar          // the annotation tools (toolbar.go)
	keys     *Shortcuts        // every key the window acts on (keys.go)
	help     dialog.Dialog     // the help panel, once shown
	probed   <-chan struct{}   // closed once the models have been looked for

	undoItem, redoItem *fyne.MenuItem
	segItem            *fyne.MenuItem // File > Export DICOM SEG (dicomseg.go)

	// statsShown is closed once the latest Segment > Statistics… is
	// shown or has failed (stats.go).
	statsShown <-chan struct{}

	fileInfo  string // file, dims, spacing, orientation: fixed per scan
	hoverInfo string // world position and HU under the mouse or crosshair

	// onSurfaceExport, when set (by tests), takes the Export surfaces
	// form's answer instead of the file dialog.
	onSurfaceExport func(app.SurfaceExport)
}

// New builds the main window of fyne app a, with a new session made with
// opts (whose OnChange, if any, is called before the window updates). The
// window is not shown; call ShowAndRun (or Window().Show()).
func New(a fyne.App, opts app.Options) *MainWindow {
	m := &MainWindow{win: a.NewWindow("polyseg"), driver: a.Driver()}
	onChange := opts.OnChange
	opts.OnChange = func(c app.Change) {
		if onChange != nil {
			onChange(c)
		}
		fyne.Do(func() { m.changed(c) })
	}
	m.session = app.New(opts)
	for n, p := range viewer.Planes {
		v := NewSliceView(m.session, p)
		v.OnHover = func(p viewer.Probe, ok bool) {
			m.active, m.active3D = v, false
			m.takeKeysFromControls()
			m.hover(p, ok)
		}
		v.OnDoubleTap = func() { m.ToggleMaximised(v) }
		m.views[n] = v
	}
	m.active = m.views[0]
	m.hint = widget.NewLabel("Open a CT scan: File > Open, or drop a NIfTI or NRRD file or a DICOM folder here")
	m.hint.Alignment = fyne.TextAlignCenter
	m.sidebar = newSidebar(m)
	m.window = newWindowPresets(m.session)
	m.view3d = NewView3D(m.session)
	m.view3d.OnDoubleTap = m.ToggleMaximised3D
	m.view3d.OnActive = func() {
		m.active3D = true
		m.takeKeysFromControls()
	}
	m.status = widget.NewLabel("")
	m.status.Truncation = fyne.TextTruncateEllipsis
	m.jobs = newJobsBar()
	m.tools = newModelTools(m)
	m.worklist = newWorklistPanel(m)
	m.train = newTrainTools(m)
	m.toolbar = newToolbar(m)
	m.prop = newPropagateTools(m)
	m.tools.row.Add(m.prop.button)
	m.tools.row.Add(m.prop.engines)
	m.sidebar.segments.onChoose = func(v uint16) { m.tools.choose(v); m.toolbar.setValue(v) }
	m.tools.onValue = func(v uint16) {
		m.toolbar.setValue(v)
		m.sidebar.segments.setSelected(v)
		m.session.SetActiveLabel(v)
		m.prop.refreshStrip()
		m.view3d.Refresh() // its corner measures the chosen segment
	}
	m.session.SetActiveLabel(m.tools.value)
	m.keys = m.newShortcuts()
	m.prop.addShortcuts(m.keys)
	m.toolbar.labelKeys(m.keys)

	// The slice views fill three cells of a 2×2 grid and the 3D view the
	// fourth; the label controls sit in a split to the right. The axial
	// view's confidence strip is its slice slider.
	m.axial = container.NewBorder(nil, nil, nil, m.prop.strip, m.views[0])
	m.grid = container.NewGridWithColumns(2, m.axial, m.views[1], m.views[2], m.view3d)
	m.viewArea = container.NewStack(m.grid, container.NewCenter(m.hint))
	split := container.NewHSplit(m.viewArea, m.sidebar.box)
	split.Offset = 0.78
	// The status line has a row of its own, the whole width, so that the
	// readout under the mouse is never cut short; the jobs and the models'
	// state share the row below. Both rows, and the message band under
	// the tool bars, keep their height whatever they show, so that the
	// views never move.
	bottom := container.NewVBox(m.status, container.NewBorder(nil, nil, nil, m.tools.engine, m.jobs.box))
	// The model buttons scroll rather than slide under the window presets
	// when the window is narrower than both.
	top := container.NewVBox(container.NewBorder(nil, nil, nil, m.window.box, container.NewHScroll(m.tools.row)), m.toolbar.row, m.band())
	m.win.SetContent(container.NewBorder(top, bottom, m.worklist.box, nil, split))
	// The menus show their keys (menuKey); the shortcut table acts on them.
	m.win.SetMainMenu(m.menu())
	m.win.Canvas().SetOnTypedKey(m.typedKey)
	m.win.Canvas().SetOnTypedRune(func(r rune) { m.keys.typedRune(r) })
	m.win.SetOnDropped(m.dropped)
	m.win.SetCloseIntercept(m.Close)
	m.win.Resize(fyne.NewSize(1280, 860))

	m.session.StartAutosave(autosaveInterval, func(err error) {
		fyne.Do(func() { m.say("Autosave failed: "+err.Error(), true) })
	})
	m.changed(app.ChangeVolume | app.ChangeLabels | app.ChangeOverlay | app.ChangeWindow)
	m.probed = m.session.ProbeModels()
	return m
}

// Window returns the Fyne window.
func (m *MainWindow) Window() fyne.Window { return m.win }

// Session returns the session the window shows.
func (m *MainWindow) Session() *app.Session { return m.session }

// View returns the view of plane p.
func (m *MainWindow) View(p viewer.Plane) *SliceView {
	for _, v := range m.views {
		if v.plane == p {
			return v
		}
	}
	return nil
}

// ShowAndRun shows the window and runs the app until it is closed.
func (m *MainWindow) ShowAndRun() { m.win.ShowAndRun() }

// Close saves what can be saved, stops the session's jobs, and closes the
// window, which ends ShowAndRun. An open dataset case is saved into the
// dataset and released first; when its edits cannot be (see
// app.UnsavedError), the user is asked, and the window stays open if they
// choose to stay.
func (m *MainWindow) Close() {
	if m.worklist.active() {
		m.worklist.closeThen(app.LeaveOptions{}, func() <-chan struct{} {
			m.closeNow()
			return nil
		}, true)
		return
	}
	m.closeNow()
}

func (m *MainWindow) closeNow() {
	if _, err := m.session.Autosave(); err != nil {
		fyne.LogError("autosave on close", err)
	}
	m.session.Close()
	m.win.Close()
}

// changed brings the widgets up to date after a session change. It runs
// on Fyne's thread.
func (m *MainWindow) changed(c app.Change) {
	if c&app.ChangeVolume != 0 {
		m.describeScan()
		m.updateSEGItem()
	}
	if c&(app.ChangeLabels|app.ChangeOverlay|app.ChangeSegments) != 0 {
		m.sidebar.updateLabels()
		m.toolbar.updateSegment()
	}
	if c&(app.ChangeLabels|app.ChangeVolume|app.ChangePreview) != 0 {
		// Undo takes back a pending preview's last click, or the preview.
		m.updateUndoItems()
	}
	if c&(app.ChangeLabels|app.ChangeVolume) != 0 {
		m.worklist.labelsChanged()
	}
	if c&app.ChangeWindow != 0 {
		m.window.update()
	}
	if c&app.ChangeOverlay != 0 {
		m.view3d.overlayChanged()
	}
	if c&app.ChangeCursor != 0 {
		m.hover(viewer.Probe{}, false)
	}
	if c&app.ChangeJobs != 0 {
		m.jobs.update(m.session.Jobs())
	}
	if c&app.ChangeOverlay != 0 {
		m.tools.updateLabelChoices()
	}
	if c&app.ChangeModels != 0 {
		m.worklist.modelChanged()
	}
	if c&app.ChangePreview != 0 {
		m.tools.updatePreview()
	} else if c&(app.ChangeModels|app.ChangeVolume) != 0 {
		m.tools.update()
	}
	if c&^app.ChangeJobs != 0 {
		m.prop.update()
	}
	if c&^app.ChangeJobs != 0 {
		for _, v := range m.views {
			v.Refresh()
		}
	}
	// The 3D view's surfaces come from their own goroutine; here its
	// planes (the crosshair), its corner's measures and a new scan. It
	// draws again only if what it shows changed.
	if c&(app.ChangeCursor|app.ChangeVolume|app.ChangeLabels|app.ChangePreview|app.ChangeSegments|app.ChangeOverlay) != 0 {
		m.view3d.Refresh()
	}
}

// updateUndoItems names the edits Undo and Redo would act on, and
// disables them when there is none.
func (m *MainWindow) updateUndoItems() {
	undo, redo := m.session.UndoRedoNames()
	changed := false
	set := func(it *fyne.MenuItem, verb, name string) {
		label := verb
		if name != "" {
			label = verb + " " + name
		}
		changed = changed || it.Label != label || it.Disabled != (name == "")
		it.Label, it.Disabled = label, name == ""
	}
	set(m.undoItem, "Undo", undo)
	set(m.redoItem, "Redo", redo)
	// A propagation's preview changes with every slice: the menu is
	// redrawn only when its names change.
	if mm := m.win.MainMenu(); mm != nil && changed {
		mm.Refresh()
	}
}

// describeScan fills the fixed part of the status line and the title.
func (m *MainWindow) describeScan() {
	v, path := m.session.Volume()
	if v == nil {
		m.fileInfo = ""
		m.hint.Show()
		m.win.SetTitle("polyseg")
		m.updateStatus()
		return
	}
	m.hint.Hide()
	sp := v.Spacing()
	name := filepath.Base(path)
	if path == "" {
		name = "example"
	}
	m.fileInfo = fmt.Sprintf("%s  %d×%d×%d  %.2f×%.2f×%.2f mm  %s", name, v.Dims[0], v.Dims[1], v.Dims[2],
		sp[0], sp[1], sp[2], v.Affine.AxisCodes())
	m.win.SetTitle(name + " – polyseg")
	m.hover(viewer.Probe{}, false)
}

// hover shows in the status line what lies under the mouse (p, when ok)
// or else at the crosshair, as the active view shows it.
func (m *MainWindow) hover(p viewer.Probe, ok bool) {
	if !ok {
		p, ok = m.active.ProbeCursor()
	}
	m.hoverInfo = ""
	if ok {
		m.hoverInfo = p.String()
	}
	m.updateStatus()
}

func (m *MainWindow) updateStatus() {
	text := m.fileInfo
	if m.hoverInfo != "" {
		text += "  |  " + m.hoverInfo
	}
	if m.status.Text != text {
		m.status.SetText(text)
	}
}

// GoToLabel moves the crosshair into the label named label (a name of the
// colour table, such as "liver", or a value, such as "5").
func (m *MainWindow) GoToLabel(label string) error {
	var value uint16
	var found bool
	m.session.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		for _, e := range l.Table.Labels() {
			if strings.EqualFold(e.Name, label) {
				value, found = e.Value, true
			}
		}
	})
	if !found {
		n, err := strconv.ParseUint(label, 10, 16)
		if err != nil {
			return fmt.Errorf("no label named %q", label)
		}
		value = uint16(n)
	}
	c, ok := m.session.LabelCentre(value)
	if !ok {
		return fmt.Errorf("label %q (%d) is not in the label volume", label, value)
	}
	m.session.SetCursor(c)
	return nil
}

// ToggleMaximised shows only v, or all four views again.
func (m *MainWindow) ToggleMaximised(v *SliceView) {
	if m.maximised != nil || m.max3D || v == nil {
		m.restoreViews()
		return
	}
	m.maximised = v
	var cell fyne.CanvasObject = v
	if v == m.views[0] {
		cell = m.axial
	}
	m.maximiseCell(cell)
}

// ToggleMaximised3D shows only the 3D view, or all four views again.
func (m *MainWindow) ToggleMaximised3D() {
	if m.maximised != nil || m.max3D {
		m.restoreViews()
		return
	}
	m.max3D = true
	m.maximiseCell(m.view3d)
}

func (m *MainWindow) maximiseCell(cell fyne.CanvasObject) {
	m.grid.Objects = []fyne.CanvasObject{cell}
	m.grid.Layout = container.NewGridWithColumns(1).Layout
	m.grid.Refresh()
}

func (m *MainWindow) restoreViews() {
	m.maximised, m.max3D = nil, false
	m.grid.Objects = []fyne.CanvasObject{m.axial, m.views[1], m.views[2], m.view3d}
	m.grid.Layout = container.NewGridWithColumns(2).Layout
	m.grid.Refresh()
}

// toggleActiveMaximised maximises or restores the view keys act on.
func (m *MainWindow) toggleActiveMaximised() {
	if m.active3D && m.maximised == nil {
		m.ToggleMaximised3D()
		return
	}
	m.ToggleMaximised(m.active)
}

// Maximised returns the maximised slice view, or nil.
func (m *MainWindow) Maximised() *SliceView { return m.maximised }

// Maximised3D reports whether the 3D view is maximised.
func (m *MainWindow) Maximised3D() bool { return m.max3D }

// View3D returns the 3D view.
func (m *MainWindow) View3D() *View3D { return m.view3d }

// presetKeys choose the window presets, in viewer.Presets' order.
var presetKeys = []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4}

// typedKey runs the shortcut table's entry for the key (keys.go), with the
// modifiers the driver says are held; while a dialog is open only Esc
// acts, and closes it.
func (m *MainWindow) typedKey(ev *fyne.KeyEvent) {
	if m.dialogOpen() {
		if ev.Name == fyne.KeyEscape {
			m.dismissTop()
		}
		return
	}
	m.keys.typedKey(ev, m.modifiers())
}

// Open reads a scan (file or DICOM folder) in the background, then, if
// labels is not empty, its labels, then offers an autosave of the scan back.
// The channel is closed once all of that is done and shown, which a
// caller such as a test may wait for.
func (m *MainWindow) Open(path, labels string, opts volume.OpenOptions) <-chan struct{} {
	if m.worklist.active() {
		// Another scan leaves the dataset: its case is saved first.
		return m.worklist.closeThen(app.LeaveOptions{}, func() <-chan struct{} { return m.Open(path, labels, opts) }, true)
	}
	return m.after(path, m.session.Open(path, opts), labels, opts)
}

// OpenGenerated shows a scan made by load (the bundled example) as Open
// shows one read from a file.
func (m *MainWindow) OpenGenerated(name string, load app.LoadFunc) <-chan struct{} {
	return m.after(name, m.session.Load("Make "+name, "", load), "", volume.OpenOptions{})
}

// after waits for the job that opens a scan, then loads labels and offers
// the autosave. A DICOM folder with several series, opened without a
// choice, gets a dialog to choose one instead of an error.
func (m *MainWindow) after(path string, job *app.Job, labels string, opts volume.OpenOptions) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := job.Wait()
		if err != nil && !app.Canceled(err) && opts.DICOM == (volume.DICOMOptions{}) && isDir(path) {
			series, lerr := volume.ListDICOMSeries(context.Background(), path)
			if lerr == nil && len(series) > 1 {
				fyne.DoAndWait(func() {
					m.chooseSeries(path, series, func(n int) {
						m.Open(path, labels, volume.OpenOptions{DICOM: volume.DICOMOptions{SeriesIndex: n}})
					})
				})
				return
			}
		}
		if err != nil {
			fyne.DoAndWait(func() { m.showError(path, err) })
			return
		}
		if labels != "" {
			m.loadLabels(labels)
		}
		if a := m.session.FindAutosave(); a != nil {
			fyne.DoAndWait(func() { m.offerAutosave(a) })
		}
	}()
	return done
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// chooseSeries asks which series of a DICOM folder to open and calls open
// with its 1-based index in series.
func (m *MainWindow) chooseSeries(dir string, series []volume.SeriesInfo, open func(index int)) {
	choices := make([]string, len(series))
	for n, s := range series {
		choices[n] = describeSeries(n+1, s)
	}
	radio := widget.NewRadioGroup(choices, nil)
	radio.SetSelected(choices[0])
	content := container.NewVBox(widget.NewLabel(filepath.Base(dir)+" holds several series: open which?"), radio)
	d := dialog.NewCustomConfirm("Choose a DICOM series", "Open", "Cancel", content, func(ok bool) {
		if !ok {
			return
		}
		for n, c := range choices {
			if c == radio.Selected {
				open(n + 1)
			}
		}
	}, m.win)
	m.showDialog(d)
}

func describeSeries(n int, s volume.SeriesInfo) string {
	desc := s.Description
	if desc == "" {
		desc = "(no description)"
	}
	return fmt.Sprintf("%d. series %d %s: %s, %d slices of %d×%d", n, s.Number, desc, s.Modality, s.Slices, s.Cols, s.Rows)
}

// OpenLabels reads a label volume for the open scan in the background; the
// channel is closed when it is shown.
func (m *MainWindow) OpenLabels(path string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.loadLabels(path)
	}()
	return done
}

// loadLabels runs on a goroutine of its own.
func (m *MainWindow) loadLabels(path string) {
	var warnings []string
	job := m.session.RunJob("Load "+filepath.Base(path), func(ctx context.Context, p app.Progress) error {
		p.Report(-1, "reading labels")
		var err error
		warnings, err = m.session.LoadLabels(path)
		return err
	})
	err := job.Wait()
	fyne.DoAndWait(func() {
		if err != nil {
			m.showError(path, err)
			return
		}
		if len(warnings) > 0 {
			m.say(filepath.Base(path)+": "+strings.Join(warnings, "; "), false)
		}
	})
}

// ExportLabels writes the label volume in the background.
func (m *MainWindow) ExportLabels(path string) <-chan struct{} {
	job := m.session.RunJob("Export "+filepath.Base(path), func(ctx context.Context, p app.Progress) error {
		p.Report(-1, "writing labels")
		return m.session.ExportLabels(path)
	})
	return m.whenDone(job, path, func() { m.say("Labels written to "+path, false) })
}

// whenDone waits for job off the UI thread, then on it shows the job's
// error about what, or calls ok; the channel is closed after that.
func (m *MainWindow) whenDone(job *app.Job, what string, ok func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := job.Wait()
		fyne.DoAndWait(func() {
			if err != nil {
				m.showError(what, err)
				return
			}
			ok()
		})
	}()
	return done
}

// offerAutosave asks whether to restore the scan's autosave, saying where
// it is and where autosaves go.
func (m *MainWindow) offerAutosave(a *app.Autosave) {
	// The labelled volume written as the segment list writes volumes.
	size := voxelCount(a.Labelled)
	if v, _ := m.session.Volume(); v != nil {
		size = volumeML(float64(a.Labelled) * stats.VoxelML(v.Grid))
	}
	msg := fmt.Sprintf("Labels of this scan were autosaved on %s (%s labelled)\nin %s.\n\nRestore them?",
		a.Saved.Local().Format("2006-01-02 15:04"), size, a.Path)
	if a.Legacy {
		msg += "\n\n(An older polyseg wrote it there. Autosaves now go to\n" + m.session.AutosaveFolder() +
			",\nand the next one replaces this file.)"
	}
	m.showDialog(dialog.NewConfirm("Restore autosaved labels", msg, func(yes bool) {
		if !yes {
			return
		}
		if _, err := m.session.RestoreAutosave(a); err != nil {
			m.showError(a.Path, err)
		}
	}, m.win))
}

// showError shows err in a dialog that names the file concerned; a
// cancelled job is not an error.
func (m *MainWindow) showError(path string, err error) {
	if app.Canceled(err) {
		return
	}
	if !strings.Contains(err.Error(), path) {
		err = fmt.Errorf("%s: %w", path, err)
	}
	m.showDialog(dialog.NewError(err, m.win))
}

// showInfo shows a message in a dialog.
func (m *MainWindow) showInfo(title, message string) {
	m.showDialog(dialog.NewInformation(title, message, m.win))
}

func (m *MainWindow) dropped(_ fyne.Position, uris []fyne.URI) { m.drop(uris) }

// drop opens the first local file or folder of those dropped. A 3D
// Slicer segmentation (.seg.nrrd) dropped on an open scan is its labels;
// another file that fits the open scan as labels (app.Session.
// FitsAsLabels) is not opened in its place at once: the user chooses
// labels or a new scan. The channel is closed when the scan or the labels
// are shown or the choice asked (at once when nothing local was dropped).
func (m *MainWindow) drop(uris []fyne.URI) <-chan struct{} {
	done := make(chan struct{})
	for _, u := range uris {
		if u.Scheme() != "file" {
			continue
		}
		path := u.Path()
		go func() {
			defer close(done)
			if v, _ := m.session.Volume(); v != nil && volume.IsSegmentationName(path) {
				<-m.OpenLabels(path)
				return
			}
			// Reading the file to tell may take a moment: not on Fyne's
			// thread.
			if fit, err := m.session.FitsAsLabels(path); err == nil && fit.Labels {
				fyne.DoAndWait(func() { m.askDropped(path, fit) })
				return
			}
			<-m.Open(path, "", volume.OpenOptions{})
		}()
		return done
	}
	close(done)
	return done
}

// askDropped asks whether the file at path, dropped while a scan is open
// and fitting it as labels, is to be opened as its labels or as a new
// scan in its place.
func (m *MainWindow) askDropped(path string, fit app.LabelFit) {
	var d dialog.Dialog
	asLabels := widget.NewButton("Open as labels", func() {
		d.Hide()
		m.OpenLabels(path)
	})
	asLabels.Importance = widget.HighImportance
	asScan := widget.NewButton("Open as a new scan", func() {
		d.Hide()
		m.Open(path, "", volume.OpenOptions{})
	})
	msg := widget.NewLabel(fmt.Sprintf("%s looks like labels of the open scan:\n%s.\n\nOpen it as this scan's labels, or as a new scan in place of this one?",
		filepath.Base(path), fit.Why))
	d = dialog.NewCustom("Open the dropped file", "Cancel", container.NewVBox(msg, container.NewHBox(asScan, asLabels)), m.win)
	m.showDialog(d)
}

func (m *MainWindow) menu() *fyne.MainMenu {
	openFile := fyne.NewMenuItem("Open file…", m.openFileDialog)
	openFile.Shortcut = &menuKey{fyne.KeyO, fyne.KeyModifierShortcutDefault}
	openDir := fyne.NewMenuItem("Open DICOM folder…", m.openFolderDialog)
	openDir.Shortcut = &menuKey{fyne.KeyD, fyne.KeyModifierShortcutDefault}
	openLabels := fyne.NewMenuItem("Open labels…", m.openLabelsDialog)
	openLabels.Shortcut = &menuKey{fyne.KeyL, fyne.KeyModifierShortcutDefault}
	export := fyne.NewMenuItem("Export labels…", m.exportDialog)
	export.Shortcut = &menuKey{fyne.KeyS, fyne.KeyModifierShortcutDefault}
	openDataset := fyne.NewMenuItem("Open dataset…", m.openDatasetDialog)
	file := fyne.NewMenu("File", openFile, openDir, openDataset, fyne.NewMenuItemSeparator(), openLabels, export, m.newSEGItem(),
		fyne.NewMenuItem("Export surfaces…", m.exportSurfacesDialog))

	undo := fyne.NewMenuItem("Undo", func() { m.session.Undo() })
	m.undoItem = undo
	undo.Shortcut = &menuKey{fyne.KeyZ, fyne.KeyModifierShortcutDefault}
	redo := fyne.NewMenuItem("Redo", func() { m.session.Redo() })
	m.redoItem = redo
	redo.Shortcut = &menuKey{fyne.KeyY, fyne.KeyModifierShortcutDefault}
	edit := fyne.NewMenu("Edit", undo, redo)

	var presets []*fyne.MenuItem
	for n, p := range viewer.Presets() {
		w := p.Window
		label := presetLabel(p)
		if n < len(presetKeys) {
			label += "  " + string(presetKeys[n])
		}
		presets = append(presets, fyne.NewMenuItem(label, func() { m.session.SetWindow(w) }))
	}
	windowItem := fyne.NewMenuItem("Window", nil)
	windowItem.ChildMenu = fyne.NewMenu("", presets...)
	maximise := fyne.NewMenuItem("Maximise or restore view (F)", m.toggleActiveMaximised)
	reset := fyne.NewMenuItem("Reset zoom and pan (Home)", func() {
		for _, v := range m.views {
			v.ResetView()
		}
		m.view3d.ResetCamera()
	})
	planes := fyne.NewMenuItem("Slice planes in 3D", nil)
	planes.Checked = m.view3d.PlanesShown()
	planes.Action = func() {
		m.view3d.ShowPlanes(!m.view3d.PlanesShown())
		planes.Checked = m.view3d.PlanesShown()
		m.win.MainMenu().Refresh()
	}
	view := fyne.NewMenu("View", windowItem, maximise, reset, planes)
	help := fyne.NewMenu("Help", fyne.NewMenuItem("Keys and mouse (F1)", m.showHelp))
	seg := m.tools.menu()
	seg.Items = append(seg.Items, fyne.NewMenuItemSeparator())
	seg.Items = append(seg.Items, m.prop.menuItems()...)
	seg.Items = append(seg.Items, fyne.NewMenuItemSeparator(), fyne.NewMenuItem("Statistics…", func() { m.statsShown = m.showStatistics() }))
	seg.Items = append(append(seg.Items, fyne.NewMenuItemSeparator()), m.train.menuItems()...)
	return fyne.NewMainMenu(file, edit, view, m.toolbar.menu(), seg, fillBetweenMenu(m), m.worklist.menu(), help)
}

func presetLabel(p viewer.Preset) string {
	return fmt.Sprintf("%s%s (%s)", strings.ToUpper(p.Name[:1]), p.Name[1:], p.Window)
}

// newFileOpen makes a file-open dialog that shows an error itself, does
// nothing when cancelled, and otherwise passes the chosen path to open: the
// session reads files by path, not through the dialog's reader.
func (m *MainWindow) newFileOpen(open func(path string)) *dialog.FileDialog {
	return dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			m.showError("", err)
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		open(path)
	}, m.win)
}

func (m *MainWindow) openFileDialog() {
	d := m.newFileOpen(func(path string) { m.Open(path, "", volume.OpenOptions{}) })
	// No filter: DICOM files often have no extension at all.
	m.showDialog(d)
}

func (m *MainWindow) openFolderDialog() {
	m.showDialog(dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			m.showError("", err)
			return
		}
		if u != nil {
			m.Open(u.Path(), "", volume.OpenOptions{})
		}
	}, m.win))
}

func (m *MainWindow) openLabelsDialog() {
	if v, _ := m.session.Volume(); v == nil {
		m.showInfo("Open labels", "Open a scan first: labels are placed on its grid.")
		return
	}
	d := m.newFileOpen(func(path string) { m.OpenLabels(path) })
	d.SetFilter(storage.NewExtensionFileFilter([]string{".nii", ".gz", ".nrrd", ".nhdr", ".dcm"})) // .dcm: a DICOM SEG
	m.showDialog(d)
}

func (m *MainWindow) exportDialog() {
	v, path := m.session.Volume()
	if v == nil {
		m.showInfo("Export labels", "There is no scan open, and so no labels.")
		return
	}
	d := m.saveDialog(scanBaseName(path)+"_labels.nii.gz", func(out string) {
		if !labelFileName(out) {
			m.showError(out, errors.New("label files are NIfTI or 3D Slicer segmentations: name it .nii.gz, .nii or .seg.nrrd"))
			return
		}
		m.ExportLabels(out)
	})
	d.SetFilter(suffixFilter{".nii.gz", ".nii", ".seg.nrrd"})
	besideScan(d, path)
	m.showDialog(d)
}

// saveDialog asks where to write a file, proposing name, and calls write
// with the path chosen. The session writes the file itself, atomically,
// replacing the empty file the dialog made; an error of the dialog is
// shown and a cancel does nothing. The caller sets the filter and the
// folder and shows the dialog.
func (m *MainWindow) saveDialog(name string, write func(path string)) *dialog.FileDialog {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			m.showError("", err)
			return
		}
		if w == nil {
			return
		}
		path := w.URI().Path()
		w.Close()
		write(path)
	}, m.win)
	d.SetFileName(name)
	return d
}

// suffixFilter lets a file dialog show files whose names end in one of
// its suffixes, case aside: storage.ExtensionFileFilter compares the last
// extension only, which is ".gz" for a ".nii.gz".
type suffixFilter []string

// Matches implements storage.FileFilter.
func (f suffixFilter) Matches(u fyne.URI) bool {
	name := strings.ToLower(u.Name())
	for _, s := range f {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// besideScan starts d in the folder holding the scan at path (a file or a
// DICOM folder), where the labels of a scan usually go; without a scan,
// or when that folder cannot be listed, the dialog starts where Fyne
// chooses.
func besideScan(d *dialog.FileDialog, path string) {
	if path == "" {
		return
	}
	dir := filepath.Dir(filepath.Clean(path))
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	l, err := storage.ListerForURI(storage.NewFileURI(dir))
	if err != nil {
		return
	}
	d.SetLocation(l)
}
