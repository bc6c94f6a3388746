package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Change tells listeners what part of a session changed; values combine.
type Change uint

const (
	ChangeVolume  Change = 1 << iota // a scan was opened or closed
	ChangeLabels                     // label voxels changed (edit, undo, load)
	ChangeOverlay                    // colours, names, visibility, opacity, outline
	ChangeCursor                     // the crosshair moved
	ChangeWindow                     // window width or level
	ChangeJobs                       // a job started, reported progress or ended
	ChangePreview                    // a model's preview appeared, was accepted or rejected
	ChangeModels                     // more became known about the models (found, loaded, provider)
	// ChangeStroke: label voxels changed inside a paint stroke still
	// going on. Views redraw what DamageSince reports; lists and counts
	// wait for the ChangeLabels that ends the stroke.
	ChangeStroke
	// ChangeSegments: a segment was added, or locked or unlocked, or the
	// overwrite mode changed (names and colours are ChangeOverlay).
	ChangeSegments
)

// Default display settings: the abdomen soft-tissue window, which suits the
// organs this app segments, and an overlay that leaves the anatomy visible.
const (
	DefaultWindowWidth = 400
	DefaultWindowLevel = 40
	DefaultOpacity     = 0.5
	defaultUndoBudget  = 256 << 20
	minimumWindowWidth = 1
	maximumWindowWidth = 1 << 16
)

// Options configure a Session. The zero value is usable.
type Options struct {
	// OnChange, if set, is called after each change, without the session's
	// lock held, from the goroutine that made it (a job's, for jobs).
	OnChange func(Change)
	// UndoBudget bounds the memory, in bytes, kept for undo and redo;
	// the oldest steps are dropped beyond it. Zero means 256 MiB.
	UndoBudget int
	// AutosaveDir is the folder autosaves are written to, one file per
	// scan named by the scan's content hash. Empty means "autosave" in the
	// user's state folder (internal/xdg: ~/.local/state/polyseg/autosave).
	// Autosaves are never written beside the scan, whose folder (a PACS
	// export, an archive) is not polyseg's.
	AutosaveDir string
	// AutosaveKeep and AutosaveMaxAge bound the autosave folder: the
	// newest AutosaveKeep files are kept, none older than AutosaveMaxAge.
	// Zero means DefaultAutosaveKeep and DefaultAutosaveMaxAge.
	AutosaveKeep   int
	AutosaveMaxAge time.Duration
	// Open, LoadLabels and WriteLabels replace the volume package's readers
	// and writer; nil means volume.Open, volume.LoadLabels and
	// volume.WriteLabels. Tests use them to simulate slow or failing files.
	Open        func(ctx context.Context, path string, opts volume.OpenOptions) (*volume.Volume, error)
	LoadLabels  func(path string, ref volume.Grid) (*volume.Labels, []string, error)
	WriteLabels func(path string, l *volume.Labels, ref *volume.Volume) error
	// Models runs segmentation and SAM for the session. Nil means a holder
	// of the session's own, made from ModelOptions when first needed and
	// closed with the session; sessions may share one to load models once.
	Models       *Models
	ModelOptions ModelOptions
	// EncodeAhead encodes the open scan's axial slices with SAM's encoder
	// in the background, nearest the crosshair first, so that prompts and
	// propagation later cost only SAM's decoder (the app sets it; tests
	// and batch work leave it off).
	EncodeAhead bool
	// ClickDelay is how long after the last SAM click on a propagated
	// label the spans next to the clicked slices are propagated again;
	// zero means DefaultClickDelay, negative never by itself (Propagate
	// does it).
	ClickDelay time.Duration
}

// Session is the state of one working session. All methods are safe for
// concurrent use.
type Session struct {
	opts      Options
	ctx       context.Context // cancelled by Close, parent of every job
	cancel    context.CancelFunc
	models    *Models
	ownModels bool // models was made by New, and Close closes it

	mu       sync.RWMutex
	vol      *volume.Volume
	path     string         // what the user opened: a file or a DICOM folder
	scanHash string         // content hash of vol, which identifies its autosave
	layer    viewer.Overlay // the label layer: labels on the scan grid, colours, visibility
	cursor   [3]int
	window   viewer.Window
	history  history
	prov     provenanceLog // what made each edit, for the sidecars
	props    propagationState
	active   uint16       // the label the user works on
	encode   *encodeAhead // the background encoding, if any
	encodeMu sync.Mutex   // serialises starting it
	dirty    bool         // labels changed since the last autosave or export
	edits    uint64       // counts label changes, so an autosave knows if it is stale
	jobs     []*Job
	preview  *preview // a model's pending result, or nil
	wg       sync.WaitGroup
	version  atomic.Uint64 // counts changes, for views caching what they drew
	damage   damageLog     // what the latest changes altered, for views redrawing part

	// The segment list (segments.go): voxels per label value, kept up to
	// date by every edit so that listing costs no pass over the volume;
	// values locked against painting; values listed while empty; whether
	// painting may overwrite other segments.
	counts    []int
	locked    []bool
	listed    map[uint16]bool
	overwrite bool

	// stroke is the paint stroke going on, if any (paint.go); replacing
	// names what is replacing the labels while painting is refused.
	stroke    *Stroke
	replacing string

	// watchers hear of every change besides OnChange (watch.go): a
	// dataset's worklist clocks editing time by them. autosaveAway keeps
	// autosaves out of the scan's folder (a dataset's imagesTr, which
	// nnU-Net must find clean): they go to the fallback folder only.
	watchers     watchers
	autosaveAway bool

	// surf, once Surfaces started it, keeps a surface per segment
	// (surfaces.go); surfMu serialises starting it.
	surf   atomic.Pointer[Surfaces]
	surfMu sync.Mutex
}

// New returns a session with no scan open.
func New(opts Options) *Session {
	if opts.UndoBudget <= 0 {
		opts.UndoBudget = defaultUndoBudget
	}
	if opts.Open == nil {
		opts.Open = volume.Open
	}
	if opts.LoadLabels == nil {
		opts.LoadLabels = volume.LoadLabels
	}
	if opts.WriteLabels == nil {
		opts.WriteLabels = volume.WriteLabels
	}
	models, own := opts.Models, false
	if models == nil {
		models, own = NewModels(opts.ModelOptions), true
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{
		opts:      opts,
		ctx:       ctx,
		cancel:    cancel,
		models:    models,
		ownModels: own,
		window:    viewer.Window{Width: DefaultWindowWidth, Level: DefaultWindowLevel},
		layer:     viewer.Overlay{Table: assets.DefaultColorTable(), Hidden: map[uint16]bool{}, Opacity: DefaultOpacity},
		counts:    make([]int, 1<<16),
		locked:    make([]bool, 1<<16),
		listed:    map[uint16]bool{},
	}
}

// Close cancels every running job, waits for them to end, and releases
// the models the session loaded itself.
func (s *Session) Close() {
	s.cancel()
	s.mu.Lock()
	s.dropClicksLocked()
	s.mu.Unlock()
	s.wg.Wait()
	if s.ownModels {
		// A failure to free native sessions loses no work: ignore it.
		_ = s.models.Close()
	}
}

func (s *Session) changed(c Change) { s.changedIn(c, nil) }

// Version returns a number that grows with every change notified, so that
// a view can tell cheaply whether what it drew is still current.
func (s *Session) Version() uint64 { return s.version.Load() }

// ErrNoVolume is returned by operations that need an open scan.
var ErrNoVolume = errors.New("no scan is open")

// SetVolume makes v the session's scan, read from path (a file or a DICOM
// folder), with an empty label layer. The cursor goes to the centre, undo
// history is cleared. It is what Open does once the file is read; tests and
// generated volumes use it directly.
func (s *Session) SetVolume(v *volume.Volume, path string) error {
	return s.setVolume(v, nil, path)
}

// setVolume installs v and, if not nil, labels as the new baseline: not
// an undo step, and nothing to autosave until edited.
func (s *Session) setVolume(v *volume.Volume, labels *volume.Labels, path string) error {
	if v == nil {
		return errors.New("nil volume")
	}
	if err := volume.CheckDims(v.Dims); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(v.Data) != v.Len() {
		return fmt.Errorf("%s: %d voxels for dimensions %v", path, len(v.Data), v.Dims)
	}
	if labels != nil && (!labels.Grid.Equal(v.Grid, viewer.GridTolerance) || len(labels.Data) != v.Len()) {
		return fmt.Errorf("%s: the label volume is not on the scan's grid", path)
	}
	if labels == nil {
		labels = volume.NewLabels(v.Grid)
	} else {
		labels = &volume.Labels{Grid: v.Grid, Data: slices.Clone(labels.Data)}
	}
	hash := scanHash(v)
	// Edits newer than the last autosave would go with the scan being
	// replaced; save them first, and keep that scan open when they cannot
	// be saved. A stroke going on ends here, and painting is refused until
	// the new scan is in, so that no voxel painted between the autosave
	// and the replacement is lost.
	what := "a new scan is being opened"
	if path != "" {
		what = "opening " + filepath.Base(path)
	}
	s.mu.Lock()
	ended := s.endStrokeLocked(what)
	s.replacing = what
	s.mu.Unlock()
	if ended {
		s.changed(ChangeLabels)
	}
	if _, err := s.Autosave(); err != nil {
		s.mu.Lock()
		s.replacing = ""
		s.mu.Unlock()
		return fmt.Errorf("%s: the open scan stays open, as its unsaved labels could not be autosaved: %w", path, err)
	}
	s.mu.Lock()
	s.replacing = ""
	s.vol = v
	s.path = path
	s.autosaveAway = false
	s.scanHash = hash
	s.layer.Labels = labels
	s.layer.Hidden = map[uint16]bool{}
	s.countAllLocked()
	clear(s.locked)
	clear(s.listed)
	s.cursor = [3]int{v.Dims[0] / 2, v.Dims[1] / 2, v.Dims[2] / 2}
	s.history.clear()
	s.prov.clear()
	if live := s.props.live; live != nil {
		live.cancel()
	}
	s.props = propagationState{}
	s.preview = nil
	s.dirty = false
	s.edits++
	s.mu.Unlock()
	s.changed(ChangeVolume | ChangeLabels | ChangeOverlay | ChangeCursor | ChangePreview | ChangeSegments)
	if s.opts.EncodeAhead {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.startEncodeAhead()
		}()
	}
	return nil
}

// Volume returns the open scan and the path it came from, or nil. The
// volume's voxels are never modified by the session.
func (s *Session) Volume() (*volume.Volume, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.vol, s.path
}

// Read calls f with the scan (nil if none) and the label layer while holding
// the session's read lock, so that no edit changes the labels while f reads
// them (to draw a view, to run a model). f must not modify them, call
// Session methods that change state, nor keep the layer's Labels or Hidden
// after returning.
func (s *Session) Read(f func(v *volume.Volume, layer *viewer.Overlay)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f(s.vol, &s.layer)
}

// Cursor returns the crosshair position in voxel indices.
func (s *Session) Cursor() [3]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cursor
}

// SetCursor moves the crosshair to voxel p, clamped to the grid. It
// reports whether the cursor moved.
func (s *Session) SetCursor(p [3]int) bool {
	s.mu.Lock()
	if s.vol == nil {
		s.mu.Unlock()
		return false
	}
	for a := range p {
		p[a] = clamp(p[a], 0, s.vol.Dims[a]-1)
	}
	moved := p != s.cursor
	s.cursor = p
	s.mu.Unlock()
	if moved {
		s.changed(ChangeCursor)
	}
	return moved
}

// Window returns the display window.
func (s *Session) Window() viewer.Window {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.window
}

// SetWindow sets the display window. Width is clamped to [1, 65536] HU:
// dragging the window narrower would otherwise flip it into viewer's
// threshold mode, and CT values span less than the maximum.
func (s *Session) SetWindow(w viewer.Window) {
	w.Width = min(max(w.Width, minimumWindowWidth), maximumWindowWidth)
	if math.IsNaN(w.Level) || math.IsInf(w.Level, 0) {
		return
	}
	s.mu.Lock()
	same := s.window == w
	s.window = w
	s.mu.Unlock()
	if !same {
		s.changed(ChangeWindow)
	}
}

// SetOpacity sets the overlay opacity, clamped to [0, 1].
func (s *Session) SetOpacity(a float64) {
	a = min(max(a, 0), 1)
	s.mu.Lock()
	s.layer.Opacity = a
	s.mu.Unlock()
	s.changed(ChangeOverlay)
}

// SetOutline chooses between filled regions and outlines.
func (s *Session) SetOutline(on bool) {
	s.mu.Lock()
	s.layer.Outline = on
	s.mu.Unlock()
	s.changed(ChangeOverlay)
}

// SetHidden hides or shows one label value.
func (s *Session) SetHidden(value uint16, hidden bool) {
	s.mu.Lock()
	if hidden {
		s.layer.Hidden[value] = true
	} else {
		delete(s.layer.Hidden, value)
	}
	s.mu.Unlock()
	s.changed(ChangeOverlay)
}

// SetColorTable replaces the table naming and colouring labels.
func (s *Session) SetColorTable(t *assets.ColorTable) {
	if t == nil {
		t = &assets.ColorTable{}
	}
	s.mu.Lock()
	s.layer.Table = t
	s.mu.Unlock()
	s.changed(ChangeOverlay)
}

// LabelCount is one label value present in the label volume.
type LabelCount struct {
	Value  uint16
	Name   string
	Voxels int
	Hidden bool
}

// PresentLabels lists the non-zero label values in the label volume, in
// increasing order, with their names from the colour table.
func (s *Session) PresentLabels() []LabelCount {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.layer.Labels == nil {
		return nil
	}
	var out []LabelCount
	for v := 1; v < len(s.counts); v++ {
		if s.counts[v] > 0 {
			u := uint16(v)
			out = append(out, LabelCount{Value: u, Name: s.layer.Table.Name(u), Voxels: s.counts[v], Hidden: s.layer.Hidden[u]})
		}
	}
	return out
}

// RunJob starts fn in the background as a job of this session; Close
// cancels it. Jobs that change labels do so through Session methods (Paint,
// ReplaceLabels) so that each result is one undo step. Segmentation and
// SAM refinement run here.
func (s *Session) RunJob(name string, fn JobFunc) *Job {
	j, ctx := newJob(s.ctx, name, func() { s.changed(ChangeJobs) })
	s.wg.Add(1)
	s.mu.Lock()
	s.jobs = append(s.jobs, j)
	s.mu.Unlock()
	s.changed(ChangeJobs)
	j.start(ctx, fn, func(j *Job) {
		s.mu.Lock()
		s.jobs = slices.DeleteFunc(s.jobs, func(x *Job) bool { return x == j })
		s.mu.Unlock()
		s.changed(ChangeJobs)
		s.wg.Done()
	})
	return j
}

// Jobs returns the jobs still running, oldest first.
func (s *Session) Jobs() []*Job {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.jobs)
}

func clamp(x, lo, hi int) int {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// LabelCentre returns the voxel of label value that is nearest the centre
// of mass of all its voxels (a point inside the structure even when it is
// curved, as the centre of mass of a colon is not), and false when the
// label is absent.
func (s *Session) LabelCentre(value uint16) ([3]int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.layer.Labels
	if l == nil || value == 0 {
		return [3]int{}, false
	}
	var sum [3]float64
	n := 0
	nx, ny := l.Dims[0], l.Dims[1]
	for idx, v := range l.Data {
		if v == value {
			sum[0] += float64(idx % nx)
			sum[1] += float64(idx / nx % ny)
			sum[2] += float64(idx / (nx * ny))
			n++
		}
	}
	if n == 0 {
		return [3]int{}, false
	}
	c := [3]float64{sum[0] / float64(n), sum[1] / float64(n), sum[2] / float64(n)}
	// Distances in mm, so that thick slices do not pull the choice.
	sp := l.Spacing()
	best, bestD := [3]int{}, math.Inf(1)
	for idx, v := range l.Data {
		if v != value {
			continue
		}
		p := [3]int{idx % nx, idx / nx % ny, idx / (nx * ny)}
		var d float64
		for a := range p {
			e := (float64(p[a]) - c[a]) * sp[a]
			d += e * e
		}
		if d < bestD {
			best, bestD = p, d
		}
	}
	return best, true
}
