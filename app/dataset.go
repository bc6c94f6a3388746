package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/volume"
)

// WorkOptions tune a Work. The zero value suits the app.
type WorkOptions struct {
	// Dataset tunes the dataset (lock timeout, who works on it).
	Dataset dataset.Options
	// Idle is how long the editing clock runs on after the last activity;
	// DefaultIdle when zero.
	Idle time.Duration
	// LockCheck is how often the open case's lock is checked, so that a
	// lock someone took over is noticed before the next save; 5 s when
	// zero.
	LockCheck time.Duration
	// Now tells the time, for the editing clock; time.Now when nil.
	Now func() time.Time
	// OnChange, if set, hears that the worklist or the open case changed
	// (a case opened or left, its status or note set, its lock lost),
	// from whichever goroutine changed it.
	OnChange func()
}

// Work is a dataset open in a session, for an annotator working through
// its cases: at most one case is open at a time, shown in the session.
//
// Opening a case takes its lock first (another annotator's lock is
// reported with its holder and never broken without the user's word),
// then reads its image and labels, then leaves the case open before,
// which saves that case's label edits into the dataset (atomically, on the
// image's grid, declaring new label values in dataset.json), adds the
// editing time to its state and releases its lock. A case whose edits
// cannot go into the dataset (its lock was lost, or the folder is
// read-only) is never left silently: the leave fails with an
// *UnsavedError and the case stays open until the user saved the labels
// elsewhere or chose to drop them (LeaveOptions.Discard). Autosaves of a
// case go to the session's fallback folder, never into the dataset; undo
// history starts afresh with each case.
//
// Its methods are safe for concurrent use; case changes (Open, Leave,
// Save, Close) take turns.
type Work struct {
	s   *Session
	d   *dataset.Dataset
	opt WorkOptions

	ctx     context.Context // cancelled by Close: the dataset's jobs
	cancel  context.CancelFunc
	unwatch func()

	turn sync.Mutex // one case change at a time

	mu       sync.Mutex // guards what follows; never held across Session calls
	cur      *openCase
	closed   bool
	training *Training  // the latest training (train.go)
	doubt    doubtState // the chosen model's doubt per case (doubt.go)
}

// openCase is the case open in the session.
type openCase struct {
	id    string
	lock  *dataset.CaseLock // nil in a read-only folder
	scan  *volume.Volume    // as read, for saving on its grid
	saved uint64            // the session's edit count when labels were last read or saved
	state dataset.State     // as last read or written
	clock editClock
	lost  error         // why the lock is no longer this process's, once it is not
	stop  chan struct{} // stops the lock's watch
}

// CaseInfo describes the open case.
type CaseInfo struct {
	ID string
	// State is the case's worklist state as last read or written by this
	// Work (the editing time of this visit not yet added).
	State dataset.State
	// EditTime is the editing time of this visit not yet written.
	EditTime time.Duration
	// Unsaved reports label edits not yet in the dataset.
	Unsaved bool
	// ReadOnly reports a case of a plain folder, which is not saved.
	ReadOnly bool
	// Holder is who holds the case's lock: this process, unless Lost.
	Holder dataset.Holder
	// Lost is why the lock is no longer this process's (it wraps
	// dataset.ErrLost); nil while it is.
	Lost error
}

// LeaveOptions say how to leave a case.
type LeaveOptions struct {
	// Status, when set, becomes the case's status ("done, next").
	Status dataset.Status
	// Discard leaves a case whose edits cannot be saved into the dataset
	// (see UnsavedError) without them: the user saved them elsewhere, or
	// chose to drop them. Edits that can be saved are saved all the same.
	Discard bool
}

// CaseOptions say how to open a case.
type CaseOptions struct {
	// TakeOver is the holder of a stale lock on the case (as a
	// *dataset.LockedError reported it) that the user agreed to take the
	// case from.
	TakeOver *dataset.Holder
	// Leave says how to leave the case open before.
	Leave LeaveOptions
}

// UnsavedError is returned when a case would be left with label edits
// that cannot go into the dataset: its lock was lost (someone took the
// case over after it looked abandoned), or the dataset is a read-only
// plain folder. Nothing was discarded and the case is still open: save
// the labels elsewhere (Session.ExportLabels), then leave with
// LeaveOptions.Discard.
type UnsavedError struct {
	Case string
	// Err wraps dataset.ErrLost or dataset.ErrReadOnly.
	Err error
}

func (e *UnsavedError) Error() string {
	if errors.Is(e.Err, dataset.ErrLost) {
		return fmt.Sprintf("case %s: your label edits cannot be saved into the dataset, as the case is no longer yours (%v): save them elsewhere before leaving it", e.Case, e.Err)
	}
	return fmt.Sprintf("case %s: your label edits cannot be saved into the dataset (%v): save them elsewhere before leaving it", e.Case, e.Err)
}

func (e *UnsavedError) Unwrap() error { return e.Err }

// ErrNoCase is returned by operations that need an open case.
var ErrNoCase = errors.New("no case is open")

// OpenDataset opens the dataset in folder dir (nnU-Net v2, Decathlon, or
// a plain folder of scans, read-only) for work in session s. No case is
// open yet.
func OpenDataset(ctx context.Context, s *Session, dir string, opt WorkOptions) (*Work, error) {
	if opt.Idle <= 0 {
		opt.Idle = DefaultIdle
	}
	if opt.LockCheck <= 0 {
		opt.LockCheck = 5 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	d, err := dataset.Open(ctx, dir, opt.Dataset)
	if err != nil {
		return nil, err
	}
	w := &Work{s: s, d: d, opt: opt}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.unwatch = s.Watch(w.sessionChanged)
	w.useNewestModel()
	return w, nil
}

// Dataset returns the dataset.
func (w *Work) Dataset() *dataset.Dataset { return w.d }

// Worklist reads every case's state and lock afresh, in case order.
func (w *Work) Worklist() []dataset.Entry { return w.d.Worklist() }

// notify tells OnChange.
func (w *Work) notify() {
	if w.opt.OnChange != nil {
		w.opt.OnChange()
	}
}

// activity is what counts as the user working on the open case: edits,
// and the gestures that change what the session shows. A scan being
// loaded, jobs reporting progress and models being found do not.
const activity = ChangeLabels | ChangeStroke | ChangeCursor | ChangeWindow | ChangeOverlay | ChangePreview | ChangeSegments

// sessionChanged runs the editing clock on the session's changes.
func (w *Work) sessionChanged(c Change) {
	if c&ChangeVolume != 0 || c&activity == 0 {
		return
	}
	w.Touch()
}

// Touch records activity on the open case at this moment, for a gesture
// the session does not see (zooming, panning).
func (w *Work) Touch() {
	now := w.opt.Now()
	w.mu.Lock()
	if w.cur != nil {
		w.cur.clock.touch(now)
	}
	w.mu.Unlock()
}

// Current describes the open case, and reports false when there is none.
func (w *Work) Current() (CaseInfo, bool) {
	w.mu.Lock()
	cur := w.cur
	if cur == nil {
		w.mu.Unlock()
		return CaseInfo{}, false
	}
	info := CaseInfo{ID: cur.id, State: cur.state, EditTime: cur.clock.elapsed(w.opt.Now()),
		ReadOnly: cur.lock == nil, Lost: cur.lost}
	if cur.lock != nil {
		info.Holder = cur.lock.Holder()
	}
	saved := cur.saved
	w.mu.Unlock()
	info.Unsaved = w.s.labelEdits() != saved
	return info, true
}

// labelEdits returns the session's count of label changes.
func (s *Session) labelEdits() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.edits
}

// holdEdits ends a paint stroke going on and refuses new ones, saying
// what, until releaseEdits or a new scan: the labels being saved are the
// labels left.
func (s *Session) holdEdits(what string) {
	s.mu.Lock()
	ended := s.endStrokeLocked(what)
	s.replacing = what
	s.mu.Unlock()
	if ended {
		s.changed(ChangeLabels)
	}
}

func (s *Session) releaseEdits() {
	s.mu.Lock()
	s.replacing = ""
	s.mu.Unlock()
}

// Open opens case id: it takes the case's lock (a *dataset.LockedError,
// errors.As, when someone else holds it; TakeOver in o once the user
// agreed to take a stale one), reads its image and labels, leaves the
// case open before as o.Leave says, and shows the new case in the
// session. Whatever fails, the case open before stays open, unless it was
// left already. It returns the readers' warnings.
func (w *Work) Open(ctx context.Context, id string, o CaseOptions, p Progress) ([]string, error) {
	w.turn.Lock()
	defer w.turn.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	c, ok := w.d.Case(id)
	if !ok {
		return nil, fmt.Errorf("dataset %s: no case %q", w.d.Dir, id)
	}
	if info, ok := w.Current(); ok && info.ID == id && info.Lost == nil {
		return nil, nil
	}
	if p == nil {
		p = ProgressFunc(func(float64, string) {})
	}
	var lock *dataset.CaseLock
	if !w.d.ReadOnly() {
		p.Report(-1, "locking case "+id)
		var err error
		if o.TakeOver != nil {
			lock, err = w.d.TakeOver(id, *o.TakeOver)
		} else {
			lock, err = w.d.Acquire(id)
		}
		if err != nil {
			return nil, err
		}
	}
	fail := func(err error) ([]string, error) {
		if lock != nil {
			// The case was never shown: no one's work is in it.
			_ = lock.Release()
		}
		return nil, err
	}
	p.Report(-1, "reading case "+id)
	v, l, warnings, err := w.d.OpenCase(ctx, id)
	if err != nil {
		return fail(err)
	}
	state, err := w.d.State(id)
	if err != nil {
		// The state is advisory (dataset.CaseLock.UpdateState replaces
		// one that does not read): the case opens all the same.
		warnings = append(warnings, err.Error())
		state = dataset.State{Status: dataset.ToDo}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := w.leave(ctx, o.Leave, "opening case "+id); err != nil {
		return fail(err)
	}
	p.Report(-1, "showing case "+id)
	w.s.SetColorTable(w.colorTable())
	if err := w.s.setVolume(v, l, c.Images[0]); err != nil {
		return fail(err)
	}
	cur := &openCase{id: id, lock: lock, scan: v, state: state, stop: make(chan struct{})}
	w.s.mu.Lock()
	w.s.autosaveAway = true
	cur.saved = w.s.edits
	w.s.mu.Unlock()
	cur.clock = editClock{idle: w.opt.Idle}
	cur.clock.start(w.opt.Now())
	w.mu.Lock()
	w.cur = cur
	w.mu.Unlock()
	if lock != nil {
		go w.watchLock(cur)
	}
	w.notify()
	return warnings, nil
}

// usable returns an error once the Work is closed.
func (w *Work) usable() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("dataset %s: closed", w.d.Dir)
	}
	return nil
}

// colorTable names and colours the labels as the dataset declares them:
// its values with their names, in the bundled table's colours where the
// names agree, so that a label the user adds takes the next free value
// and the values stay consecutive, as nnU-Net wants. A dataset that
// declares no label yet (a new one) gets the bundled table, whose values
// the app's models use.
func (w *Work) colorTable() *assets.ColorTable {
	def := assets.DefaultColorTable()
	declared := w.d.Labels()
	if !slices.ContainsFunc(declared, func(l dataset.Label) bool { return l.Value != 0 }) {
		return def
	}
	byName := map[string]assets.Label{}
	for _, l := range def.Labels() {
		byName[strings.ToLower(l.Name)] = l
	}
	var ls []assets.Label
	for _, l := range declared {
		if l.Value == 0 {
			continue
		}
		name := SegmentName(l.Name)
		c := assets.FallbackColor(l.Value)
		if d, ok := byName[strings.ToLower(name)]; ok {
			c = d.Color
		}
		ls = append(ls, assets.Label{Value: l.Value, Name: name, Color: c})
	}
	t, err := assets.NewColorTable(ls)
	if err != nil {
		// Names the table refuses (empty ones) leave the bundled table.
		return def
	}
	return t
}

// watchLock checks the open case's lock until the case is left, and marks
// it lost once someone took it over.
func (w *Work) watchLock(c *openCase) {
	t := time.NewTicker(w.opt.LockCheck)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if w.markLost(c, c.lock.Check()) {
			w.notify()
			return
		}
	}
}

// markLost records err as why c's lock is lost, when it says so, and
// reports whether it did.
func (w *Work) markLost(c *openCase, err error) bool {
	if !errors.Is(err, dataset.ErrLost) {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.lost == nil {
		c.lost = err
	}
	return true
}

// CheckLock checks the open case's lock now, as the watch does every
// WorkOptions.LockCheck, and returns why it is lost (nil while it is this
// process's, or when no case is open).
func (w *Work) CheckLock() error {
	w.mu.Lock()
	cur := w.cur
	w.mu.Unlock()
	if cur == nil || cur.lock == nil {
		return nil
	}
	w.markLost(cur, cur.lock.Check())
	w.mu.Lock()
	defer w.mu.Unlock()
	return cur.lost
}

// Leave leaves the open case (see Work): its edits saved into the
// dataset, its state updated and its lock released. Without an open
// case it does nothing.
func (w *Work) Leave(ctx context.Context, o LeaveOptions) error {
	w.turn.Lock()
	defer w.turn.Unlock()
	if err := w.leave(ctx, o, "leaving the case"); err != nil {
		return err
	}
	w.notify()
	return nil
}

// leave leaves the open case; w.turn is held. The case's scan stays in
// the session, with painting refused until another scan is opened.
func (w *Work) leave(ctx context.Context, o LeaveOptions, why string) error {
	w.mu.Lock()
	cur := w.cur
	w.mu.Unlock()
	if cur == nil {
		return nil
	}
	w.s.holdEdits(why)
	if err := w.save(ctx, cur, o); err != nil {
		w.s.releaseEdits()
		var ue *UnsavedError
		if !o.Discard || !errors.As(err, &ue) {
			return err
		}
	}
	close(cur.stop)
	if cur.lock != nil {
		if err := cur.lock.Release(); err != nil && !errors.Is(err, dataset.ErrLost) {
			// The lock file could not be removed (the share is gone):
			// the work is saved, and the lock will look stale to others.
			w.mu.Lock()
			w.cur = nil
			w.mu.Unlock()
			return err
		}
	}
	w.mu.Lock()
	w.cur = nil
	w.mu.Unlock()
	return nil
}

// Save saves the open case's label edits and editing time into the
// dataset, keeping the case open and locked.
func (w *Work) Save(ctx context.Context) error {
	w.turn.Lock()
	defer w.turn.Unlock()
	w.mu.Lock()
	cur := w.cur
	w.mu.Unlock()
	if cur == nil {
		return ErrNoCase
	}
	w.s.holdEdits("saving case " + cur.id)
	defer w.s.releaseEdits()
	err := w.save(ctx, cur, LeaveOptions{})
	w.notify()
	return err
}

// SetStatus sets the open case's status, with the editing time so far.
func (w *Work) SetStatus(st dataset.Status) error {
	if _, err := dataset.ParseStatus(string(st)); err != nil {
		return err
	}
	return w.updateState(func(s *dataset.State) { s.Status = st })
}

// SetNote sets the open case's note, with the editing time so far.
func (w *Work) SetNote(note string) error {
	return w.updateState(func(s *dataset.State) { s.Note = note })
}

func (w *Work) updateState(fn func(*dataset.State)) error {
	w.turn.Lock()
	defer w.turn.Unlock()
	w.mu.Lock()
	cur := w.cur
	w.mu.Unlock()
	if cur == nil {
		return ErrNoCase
	}
	if cur.lock == nil {
		return fmt.Errorf("case %s: %w", cur.id, dataset.ErrReadOnly)
	}
	now := w.opt.Now()
	w.mu.Lock()
	elapsed := cur.clock.elapsed(now)
	w.mu.Unlock()
	st, err := cur.lock.UpdateState(func(s *dataset.State) {
		fn(s)
		s.EditTime += elapsed
	})
	if err != nil {
		w.markLost(cur, err)
		w.notify()
		return err
	}
	w.mu.Lock()
	cur.state = st
	cur.clock.commit(now)
	w.mu.Unlock()
	w.notify()
	return nil
}

// save writes c's label edits, if any, and its editing time and the
// status o asks for into the dataset; w.turn is held and edits are held
// off. Edits that cannot be written give an *UnsavedError.
func (w *Work) save(ctx context.Context, c *openCase, o LeaveOptions) error {
	s := w.s
	s.mu.RLock()
	if s.vol != c.scan {
		s.mu.RUnlock()
		return fmt.Errorf("case %s: its scan is no longer the one open", c.id)
	}
	gen := s.edits
	changed := gen != c.saved
	var labels *volume.Labels
	if changed {
		labels = &volume.Labels{Grid: s.layer.Labels.Grid, Data: slices.Clone(s.layer.Labels.Data)}
	}
	table := s.layer.Table
	s.mu.RUnlock()

	now := w.opt.Now()
	w.mu.Lock()
	elapsed := c.clock.elapsed(now)
	lost := c.lost
	w.mu.Unlock()
	if c.lock == nil {
		if changed {
			return &UnsavedError{Case: c.id, Err: dataset.ErrReadOnly}
		}
		return nil
	}
	if lost == nil {
		if err := c.lock.Check(); w.markLost(c, err) {
			lost = err
		}
	}
	if lost != nil {
		if changed {
			return &UnsavedError{Case: c.id, Err: lost}
		}
		return nil
	}
	if changed {
		if err := c.lock.SaveLabels(ctx, labels, c.scan, table); err != nil {
			if w.markLost(c, err) {
				return &UnsavedError{Case: c.id, Err: err}
			}
			return err
		}
		s.mu.Lock()
		clean := s.edits == gen && s.vol == c.scan
		if clean {
			s.dirty = false
		}
		s.mu.Unlock()
		w.mu.Lock()
		c.saved = gen
		w.mu.Unlock()
		if clean {
			// The autosave of these labels is no longer needed.
			_ = s.DiscardAutosave()
		}
	}
	if !changed && elapsed == 0 && o.Status == "" {
		return nil
	}
	st, err := c.lock.UpdateState(func(st *dataset.State) {
		st.EditTime += elapsed
		if o.Status != "" {
			st.Status = o.Status
		}
	})
	if err != nil {
		if w.markLost(c, err) && o.Status == "" {
			// The labels are saved; only the time is lost with the lock.
			return nil
		}
		return err
	}
	w.mu.Lock()
	c.state = st
	c.clock.commit(now)
	w.mu.Unlock()
	return nil
}

// Close leaves the open case as o says and closes the Work: the dataset's
// jobs are cancelled. A failed leave leaves the Work open.
func (w *Work) Close(ctx context.Context, o LeaveOptions) error {
	w.turn.Lock()
	defer w.turn.Unlock()
	if err := w.leave(ctx, o, "closing the dataset"); err != nil {
		return err
	}
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		w.unwatch()
		w.cancel()
		w.forgetModel()
		w.notify()
	}
	return nil
}

// RunJob runs fn as a job of the dataset: listed with the session's jobs
// (progress, cancel), it lives on while the user moves from case to case,
// and Close cancels it. Work on the whole dataset (training a model on its
// done cases) runs here.
func (w *Work) RunJob(name string, fn JobFunc) *Job {
	return w.s.RunJob(name, func(ctx context.Context, p Progress) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(w.ctx, cancel)
		defer stop()
		return fn(ctx, p)
	})
}

// LooksLikeDataset reports whether folder dir is a dataset rather than
// one DICOM series: it has a dataset.json or an imagesTr folder, or it
// holds NIfTI files, or folders and no loose files (a plain folder of
// scans and series). A folder of DICOM files is a scan.
func LooksLikeDataset(dir string) bool {
	if st, err := os.Stat(filepath.Join(dir, dataset.JSONName)); err == nil && !st.IsDir() {
		return true
	}
	if st, err := os.Stat(filepath.Join(dir, dataset.ImagesDir)); err == nil && st.IsDir() {
		return true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	folders, loose := false, false
	for _, e := range entries {
		name := strings.ToLower(e.Name())
		switch {
		case strings.HasPrefix(name, "."):
		case strings.HasSuffix(name, ".nii"), strings.HasSuffix(name, ".nii.gz"):
			return true
		case e.IsDir():
			folders = true
		default:
			loose = true
		}
	}
	return folders && !loose
}

// MakeNNUNet converts src, a plain folder of scans or a Decathlon
// dataset, into an nnU-Net v2 dataset in folder dir (made if need be;
// src's own folder converts it in place), as polyseg dataset init does:
// every case's first image into imagesTr, its labels resampled onto it
// into labelsTr, dataset.json declaring them. Run again over the same
// folder, it adds the cases not there yet. p hears of each case; the
// results say what became of each.
func MakeNNUNet(ctx context.Context, src *dataset.Dataset, dir, name string, opt dataset.Options, p Progress) (*dataset.Dataset, []dataset.ImportResult, error) {
	d, err := dataset.Init(ctx, dir, name, opt)
	if errors.Is(err, dataset.ErrExists) {
		d, err = dataset.Open(ctx, dir, opt)
		if err == nil && d.Layout == dataset.Plain {
			err = fmt.Errorf("dataset %s: not a dataset and cannot be made one", dir)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	var results []dataset.ImportResult
	total := len(src.Cases)
	if p != nil {
		p.Report(0, fmt.Sprintf("case 1/%d", total))
	}
	err = d.Import(ctx, src, nil, func(r dataset.ImportResult) {
		results = append(results, r)
		if p != nil {
			p.Report(float64(len(results))/float64(max(total, 1)), fmt.Sprintf("case %d/%d: %s", len(results), total, r.ID))
		}
	})
	return d, results, err
}
