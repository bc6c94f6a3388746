package app

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/volume"
)

// DefaultSurfaceSmooth is the Taubin iterations of the surfaces the 3D view
// shows, as `polyseg mesh` smooths by default: enough to take away the
// voxel staircase while the volume moves by well under 1 %.
const DefaultSurfaceSmooth = 20

// NoSmoothing, as SurfaceOptions.Smooth, shows the plain marching-cubes
// surface.
const NoSmoothing = -1

// defaultSmoothWait is how long a re-meshed segment's raw surface waits for
// its smoothed one before it is shown. Smoothing the liver of a 512×512×120
// scan costs about twice its extraction (docs/benchmarks.md): waiting
// longer would make an edit feel slow, showing the raw surface every time
// would make small segments flicker between the two.
const defaultSmoothWait = 60 * time.Millisecond

// smoothChunk is how many smoothing iterations run between two looks at
// whether the surface is still wanted. Taubin's iterations carry no state
// from one to the next, so smoothing in chunks gives the same vertices;
// each chunk finds the mesh's neighbours again, which made chunks of 4
// cost a quarter more CPU than one run of 20 on a liver of 200 000
// triangles (BenchmarkSurfacesRemesh), chunks of 10 little more.
const smoothChunk = 10

// SurfaceOptions configure the surfaces of a session (Session.Surfaces).
type SurfaceOptions struct {
	// Smooth is the Taubin iterations of the surfaces shown: 0 means
	// DefaultSurfaceSmooth, NoSmoothing the marching-cubes surface.
	Smooth int
	// SmoothWait is how long a re-meshed segment's raw surface waits for
	// the smoothed one before it is shown; 0 means 60 ms.
	SmoothWait time.Duration
	// Workers bounds the goroutines of one re-mesh; 0 means GOMAXPROCS.
	Workers int
	// OnUpdate is called after surfaces were replaced, made or removed,
	// with their labels (nil when every surface went, a new scan), from
	// the surfaces' own goroutine, without any lock held.
	OnUpdate func(labels []uint16)
}

func (o SurfaceOptions) smooth() int {
	switch {
	case o.Smooth == 0:
		return DefaultSurfaceSmooth
	case o.Smooth < 0:
		return 0
	}
	return min(o.Smooth, mesh.MaxSmooth)
}

// Surface is the closed surface of one segment as the 3D view shows it,
// with its measures. A published Surface and its mesh are never changed:
// a re-mesh publishes a new one.
type Surface struct {
	Label uint16
	// Mesh is in world coordinates (RAS+, mm), named and coloured as the
	// session's colour table says when it was made.
	Mesh *mesh.Mesh
	// Smoothed is false while the surface shown is the marching-cubes one
	// whose smoothing has not finished (or was given up because the
	// segment changed again).
	Smoothed bool
	// Preview says that the segment includes the pending preview's
	// proposal for it (a propagation streaming in), as accepting it would
	// make it.
	Preview bool
	// Voxels, VolumeML and AreaMM2 measure the segment shown: its voxel
	// count, their volume, and the area of its marching-cubes surface
	// before smoothing, as mesh.Measure gives them.
	Voxels   int
	VolumeML float64
	AreaMM2  float64
	// Box holds the segment's voxels, Min inclusive, Max exclusive.
	Box VoxelBox
	// Version grows with every surface published, of any segment.
	Version uint64
}

// Surfaces keeps a closed surface per segment of the session's labels, up
// to date in the background: after each edit only the segments it changed
// are meshed again, within their bounding box grown by the edit's, and a
// pending preview (a propagation streaming in) is shown merged as
// accepting it would merge it. Get them with Session.Surfaces.
//
// The work runs on one goroutine of its own, one segment at a time (the
// segment chosen first), never holding the session's lock while it
// meshes: it copies the segment's box out under the read lock, so that
// edits never wait for it. Work that became stale is given up where its
// result would be of no use: everything for a scan that was replaced or a
// session that closed, and the smoothing of a surface whose segment
// changed again (its raw surface is still shown: it is newer than what is
// on screen, and during a streaming propagation giving it up at every
// slice would show nothing until the stream ends).
type Surfaces struct {
	s    *Session
	opts SurfaceOptions
	kick chan struct{}
	ex   mesh.Extractor // the worker's only
	pv   previewTrack   // the worker's only

	mu      sync.Mutex
	vol     *volume.Volume // the scan the surfaces are of
	census  bool           // boxes must be found afresh, every segment meshed
	boxes   map[uint16]VoxelBox
	dirty   map[uint16]bool
	running *surfaceRun
	shown   map[uint16]*Surface
	version uint64
	idle    chan struct{} // closed while there is nothing to do
	err     error         // the last surface that could not be made
	// proposed is what the pending preview proposes, as last heard.
	proposed []uint16
	slot     []int32 // noteEdit's per-value index, all 0 between calls
	// testHook, when set, is called by the worker at each stage of a
	// run ("copied", "extracted", "smoothing"), for tests that need work
	// to be under way at a known point.
	testHook func(stage string, label uint16, copied VoxelBox)
}

// surfaceRun is the re-mesh of one segment under way.
type surfaceRun struct {
	label  uint16
	vol    *volume.Volume
	cancel context.CancelFunc
	// stale is set when the segment changed after the run copied it out.
	stale atomic.Bool
	// done, smoothed and rawShown are guarded by Surfaces.mu: a raw
	// surface shown by the timer must never replace the run's smoothed
	// one, be shown twice, or come after the run ended.
	done, smoothed, rawShown bool
}

// Surfaces returns the session's surfaces, starting them on first use with
// opts (later calls ignore opts): from then on every segment of the open
// scan, and of every scan opened later, is meshed, and re-meshed after
// each change, until the session closes.
func (s *Session) Surfaces(opts SurfaceOptions) *Surfaces {
	s.surfMu.Lock()
	defer s.surfMu.Unlock()
	if x := s.surf.Load(); x != nil {
		return x
	}
	if opts.SmoothWait <= 0 {
		opts.SmoothWait = defaultSmoothWait
	}
	x := &Surfaces{s: s, opts: opts, kick: make(chan struct{}, 1), boxes: map[uint16]VoxelBox{},
		dirty: map[uint16]bool{}, shown: map[uint16]*Surface{}, idle: make(chan struct{})}
	close(x.idle)
	s.mu.Lock()
	x.mu.Lock()
	x.resetLocked(s.vol)
	x.mu.Unlock()
	s.surf.Store(x)
	s.mu.Unlock()
	s.Watch(x.changed)
	s.wg.Add(1)
	go x.loop()
	x.poke()
	return x
}

// ActiveLabel returns the label the user works on (SetActiveLabel).
func (s *Session) ActiveLabel() uint16 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.active
}

// noteLabelEdit tells the surfaces that voxels idx changed from the
// values from to the values to; the session's lock is held.
func (s *Session) noteLabelEdit(idx []uint32, from, to []uint16) {
	if x := s.surf.Load(); x != nil && len(idx) > 0 && s.layer.Labels != nil {
		x.noteEdit(s.layer.Labels.Dims, idx, from, to)
	}
}

// noteAllLabels tells the surfaces that the scan or every label voxel may
// have changed; the session's lock is held.
func (s *Session) noteAllLabels() {
	if x := s.surf.Load(); x != nil {
		x.mu.Lock()
		x.resetLocked(s.vol)
		x.mu.Unlock()
	}
}

// bigEdit is the edit size past which finding every segment's box afresh
// in one pass over the labels costs less than following the edit's voxels.
const bigEdit = 1 << 22

// noteEdit marks the values an edit changed as needing a new surface,
// within their box grown by the box of the edit's voxels of that value;
// the session's lock is held.
func (x *Surfaces) noteEdit(dims [3]int, idx []uint32, from, to []uint16) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(idx) > bigEdit {
		x.census = true
		x.busyLocked()
		return
	}
	if x.slot == nil {
		x.slot = make([]int32, 1<<16)
	}
	var boxes []VoxelBox
	var values []uint16
	nx, nxy := uint32(dims[0]), uint32(dims[0]*dims[1])
	grow := func(v uint16, i, j, k int) {
		if v == 0 {
			return
		}
		n := x.slot[v] - 1
		if n < 0 {
			n = int32(len(values))
			x.slot[v] = n + 1
			values = append(values, v)
			boxes = append(boxes, VoxelBox{})
		}
		boxes[n].add(i, j, k)
	}
	for n, i := range idx {
		a, b, c := int(i%nx), int(i%nxy/nx), int(i/nxy)
		grow(from[n], a, b, c)
		grow(to[n], a, b, c)
	}
	for n, v := range values {
		x.slot[v] = 0
		x.boxes[v] = x.boxes[v].Union(boxes[n])
		x.markLocked(v)
	}
}

// markLocked marks v as needing a new surface; x.mu is held.
func (x *Surfaces) markLocked(v uint16) {
	x.dirty[v] = true
	if r := x.running; r != nil && r.label == v {
		r.stale.Store(true)
	}
	x.busyLocked()
}

func (x *Surfaces) busyLocked() {
	select {
	case <-x.idle:
		x.idle = make(chan struct{})
	default:
	}
}

// resetLocked forgets every surface: a new scan (or none), or labels
// replaced wholesale. x.mu is held.
func (x *Surfaces) resetLocked(v *volume.Volume) {
	if r := x.running; r != nil {
		r.cancel()
		r.stale.Store(true)
	}
	x.vol = v
	x.census = v != nil
	clear(x.boxes)
	clear(x.dirty)
	clear(x.shown)
	x.err = nil
	x.version++
	if x.census {
		x.busyLocked()
	}
}

// changed hears every change of the session, without its lock held.
func (x *Surfaces) changed(c Change) {
	if c&ChangePreview != 0 {
		// What the preview proposes, and what it proposed before, must be
		// shown again (a slice streamed in, or the preview went).
		info, _ := x.s.Preview()
		x.mu.Lock()
		for _, v := range x.proposed {
			x.markLocked(v)
		}
		for _, v := range info.Values {
			x.markLocked(v)
		}
		x.proposed = info.Values
		x.mu.Unlock()
	}
	if c&ChangeVolume != 0 {
		x.notify(nil)
	}
	// A stroke going on is meshed when it ends (ChangeLabels), not at
	// every mouse move.
	if c&(ChangeVolume|ChangeLabels|ChangePreview) != 0 {
		x.poke()
	}
}

func (x *Surfaces) poke() {
	select {
	case x.kick <- struct{}{}:
	default:
	}
}

func (x *Surfaces) notify(labels []uint16) {
	if x.opts.OnUpdate != nil {
		x.opts.OnUpdate(labels)
	}
}

// Get returns the surface of label v, if it has one.
func (x *Surfaces) Get(v uint16) (Surface, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if s := x.shown[v]; s != nil {
		return *s, true
	}
	return Surface{}, false
}

// All returns every surface, by increasing label.
func (x *Surfaces) All() []Surface {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]Surface, 0, len(x.shown))
	for _, s := range x.shown {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Surface) int { return int(a.Label) - int(b.Label) })
	return out
}

// Version grows whenever a surface is published or the surfaces are
// cleared, so that a view can tell cheaply whether its scene is current.
func (x *Surfaces) Version() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.version
}

// Err returns why the last surface that failed could not be made, nil if
// none failed.
func (x *Surfaces) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

// WaitIdle blocks until every change so far has its surfaces published
// (smoothed, unless the segment changed again), or ctx is done.
func (x *Surfaces) WaitIdle(ctx context.Context) error {
	for {
		x.mu.Lock()
		idle := x.idle
		x.mu.Unlock()
		select {
		case <-idle:
			x.mu.Lock()
			quiet := x.idleLocked()
			x.mu.Unlock()
			if quiet {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (x *Surfaces) idleLocked() bool {
	return !x.census && len(x.dirty) == 0 && x.running == nil
}

func (x *Surfaces) loop() {
	defer x.s.wg.Done()
	for {
		select {
		case <-x.s.ctx.Done():
			return
		case <-x.kick:
		}
		for x.step() {
		}
	}
}

// step does one piece of work and reports whether there may be more.
func (x *Surfaces) step() bool {
	if x.s.ctx.Err() != nil {
		return false
	}
	active := x.s.ActiveLabel()
	var hidden map[uint16]bool
	x.s.mu.RLock()
	hidden = make(map[uint16]bool, len(x.s.layer.Hidden))
	for v, h := range x.s.layer.Hidden {
		hidden[v] = h
	}
	x.s.mu.RUnlock()

	x.mu.Lock()
	if x.census {
		x.mu.Unlock()
		x.findBoxes()
		return true
	}
	if len(x.dirty) == 0 {
		select {
		case <-x.idle:
		default:
			close(x.idle)
		}
		x.mu.Unlock()
		return false
	}
	// The chosen segment first, then the visible ones, then the rest;
	// by value within each.
	var v uint16
	best := 3
	for w := range x.dirty {
		rank := 2
		switch {
		case w == active:
			rank = 0
		case !hidden[w]:
			rank = 1
		}
		if rank < best || rank == best && w < v {
			v, best = w, rank
		}
	}
	delete(x.dirty, v)
	ctx, cancel := context.WithCancel(x.s.ctx)
	r := &surfaceRun{label: v, vol: x.vol, cancel: cancel}
	x.running = r
	x.mu.Unlock()

	x.remesh(ctx, r)

	cancel()
	x.mu.Lock()
	r.done = true
	x.running = nil
	x.mu.Unlock()
	return true
}

// findBoxes finds every segment's bounding box in one pass over the labels
// and marks every segment present as needing a surface.
func (x *Surfaces) findBoxes() {
	s := x.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.census = false
	clear(x.boxes)
	l := s.layer.Labels
	if s.vol == nil || l == nil || s.vol != x.vol {
		return
	}
	boxes := labelBoxes(l)
	for v, b := range boxes {
		x.boxes[v] = b
		x.markLocked(v)
	}
}

// labelBoxes returns the bounding box of every value but 0 in l.
func labelBoxes(l *volume.Labels) map[uint16]VoxelBox {
	out := map[uint16]VoxelBox{}
	nx, ny, nz := l.Dims[0], l.Dims[1], l.Dims[2]
	var lo, hi [1 << 16][3]int32
	var seen [1 << 16]bool
	for k := range nz {
		for j := range ny {
			row := l.Data[(k*ny+j)*nx:][:nx]
			for i, v := range row {
				if v == 0 {
					continue
				}
				p := [3]int32{int32(i), int32(j), int32(k)}
				if !seen[v] {
					seen[v], lo[v], hi[v] = true, p, p
					continue
				}
				for a := range 3 {
					lo[v][a] = min(lo[v][a], p[a])
					hi[v][a] = max(hi[v][a], p[a])
				}
			}
		}
	}
	for v := 1; v < len(seen); v++ {
		if seen[v] {
			a, b := lo[v], hi[v]
			out[uint16(v)] = VoxelBox{Min: [3]int{int(a[0]), int(a[1]), int(a[2])},
				Max: [3]int{int(b[0]) + 1, int(b[1]) + 1, int(b[2]) + 1}}
		}
	}
	return out
}

// remesh makes label r.label's surface afresh and publishes it.
func (x *Surfaces) remesh(ctx context.Context, r *surfaceRun) {
	v := r.label
	cut, ok := x.copyOut(r)
	if !ok {
		return
	}
	if cut == nil {
		x.hook("copied", v, VoxelBox{})
		x.remove(r)
		return
	}
	x.hook("copied", v, cut.copied)
	raw, err := x.ex.ExtractBox(ctx, cut.labels, v, cut.box, mesh.Options{Workers: x.opts.Workers})
	if errors.Is(err, mesh.ErrNoVoxels) {
		x.remove(r)
		return
	}
	if err != nil {
		// Cancelled: a new scan or the session closing. Anything else is
		// a defect (the copy is a valid label volume): kept for Err, the
		// old surface stays.
		if ctx.Err() == nil {
			x.mu.Lock()
			x.err = fmt.Errorf("surface of label %d: %w", v, err)
			x.mu.Unlock()
		}
		return
	}
	raw.Name, raw.Color = cut.name, cut.color
	surf := &Surface{Label: v, Mesh: raw, Preview: cut.preview, Voxels: cut.voxels,
		VolumeML: float64(cut.voxels) * cut.voxelML, AreaMM2: raw.Area(), Box: cut.tight}
	x.hook("extracted", v, cut.copied)
	iters := x.opts.smooth()
	if iters == 0 {
		surf.Smoothed = true
		x.publish(r, surf)
		return
	}
	if r.stale.Load() {
		x.publish(r, surf)
		return
	}
	// The raw surface is shown if smoothing takes long; either way the
	// smoothed one follows unless the segment changes meanwhile.
	timer := time.AfterFunc(x.opts.SmoothWait, func() { x.publish(r, surf) })
	defer timer.Stop()
	sm := raw.Clone()
	x.hook("smoothing", v, cut.copied)
	for done := 0; done < iters; done += smoothChunk {
		if r.stale.Load() || ctx.Err() != nil {
			timer.Stop()
			x.publish(r, surf)
			return
		}
		sm.Smooth(min(smoothChunk, iters-done))
	}
	timer.Stop()
	smoothed := *surf
	smoothed.Mesh, smoothed.Smoothed = sm, true
	x.publish(r, &smoothed)
}

func (x *Surfaces) hook(stage string, v uint16, copied VoxelBox) {
	x.mu.Lock()
	h := x.testHook
	x.mu.Unlock()
	if h != nil {
		h(stage, v, copied)
	}
}

// publish shows surf, unless the scan changed since r began, r's smoothed
// surface is shown already, or r has ended (a late timer).
func (x *Surfaces) publish(r *surfaceRun, surf *Surface) {
	x.mu.Lock()
	if r.vol != x.vol || r.smoothed || r.done && !surf.Smoothed {
		x.mu.Unlock()
		return
	}
	if surf.Smoothed {
		r.smoothed = true
	} else {
		if r.rawShown {
			x.mu.Unlock()
			return
		}
		r.rawShown = true
	}
	x.version++
	shown := *surf // surf may be the timer's too
	shown.Version = x.version
	x.shown[r.label] = &shown
	x.mu.Unlock()
	x.notify([]uint16{r.label})
}

// remove takes away the surface of a segment that has no voxel left.
func (x *Surfaces) remove(r *surfaceRun) {
	x.mu.Lock()
	_, had := x.shown[r.label]
	if r.vol != x.vol || !had {
		x.mu.Unlock()
		return
	}
	delete(x.shown, r.label)
	x.version++
	x.mu.Unlock()
	x.notify([]uint16{r.label})
}

// cutOut is one segment copied out of the session: a label volume on the
// box it may occupy (the segment as value label, 0 elsewhere), placed in
// the world as the scan is, and what describes it.
type cutOut struct {
	labels  *volume.Labels
	copied  VoxelBox // the box copied, in the scan's indices
	box     mesh.Box // the segment's voxels, in the cut's own indices
	tight   VoxelBox // the same in the scan's
	voxels  int
	voxelML float64
	preview bool
	name    string
	color   color.NRGBA
}

// copyOut copies label r.label's voxels out of the session, merged with
// what the pending preview proposes for it, under the session's read
// lock. It returns nil when the segment has no voxel, and false when the
// run is no longer wanted (a new scan).
func (x *Surfaces) copyOut(r *surfaceRun) (*cutOut, bool) {
	s, v := x.s, r.label
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.vol != r.vol || s.layer.Labels == nil {
		return nil, false
	}
	l := s.layer.Labels
	x.mu.Lock()
	box := x.boxes[v]
	x.mu.Unlock()
	pv := s.preview
	if pv != nil && (pv.vol != s.vol || !slices.Contains(pv.info.Values, v)) {
		pv = nil
	}
	x.pv.follow(s.preview, l.Dims)
	if pv != nil {
		box = box.Union(x.pv.box)
	}
	if box.Empty() {
		x.setBox(v, VoxelBox{})
		return nil, true
	}
	var n [3]int
	for a := range 3 {
		n[a] = box.Max[a] - box.Min[a]
	}
	a := l.Affine
	shift := a
	for row := range 3 {
		shift[row][3] = a[row][0]*float64(box.Min[0]) + a[row][1]*float64(box.Min[1]) + a[row][2]*float64(box.Min[2]) + a[row][3]
	}
	cut := &volume.Labels{Grid: volume.Grid{Dims: n, Affine: shift}, Data: make([]uint16, n[0]*n[1]*n[2])}
	var tight, committed VoxelBox
	count := 0
	nx, nxy := l.Dims[0], l.Dims[0]*l.Dims[1]
	for k := range n[2] {
		for j := range n[1] {
			src := (box.Min[2]+k)*nxy + (box.Min[1]+j)*nx + box.Min[0]
			dst := (k*n[1] + j) * n[0]
			rowLo, rowHi := -1, -1
			comLo, comHi := -1, -1
			for i := range n[0] {
				cur := l.Data[src+i]
				if cur == v {
					if comLo < 0 {
						comLo = i
					}
					comHi = i
				}
				if pv != nil {
					cur = x.pv.merged(src+i, cur)
				}
				if cur == v {
					cut.Data[dst+i] = v
					count++
					if rowLo < 0 {
						rowLo = i
					}
					rowHi = i
				}
			}
			if rowLo >= 0 {
				tight.add(rowLo, j, k)
				tight.add(rowHi, j, k)
			}
			if comLo >= 0 {
				committed.add(comLo, j, k)
				committed.add(comHi, j, k)
			}
		}
	}
	// The committed segment's box shrinks to what it holds, now that the
	// copy saw all of it; no edit can come between (the read lock).
	x.setBox(v, offset(committed, box.Min))
	if count == 0 {
		return nil, true
	}
	return &cutOut{
		labels:  cut,
		copied:  box,
		box:     mesh.Box{Min: tight.Min, Max: tight.Max},
		tight:   offset(tight, box.Min),
		voxels:  count,
		voxelML: math.Abs(det3(a)) / 1000,
		preview: pv != nil,
		name:    s.layer.Table.Name(v),
		color:   s.layer.Table.Color(v),
	}, true
}

func (x *Surfaces) setBox(v uint16, b VoxelBox) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if b.Empty() {
		delete(x.boxes, v)
		return
	}
	x.boxes[v] = b
}

func offset(b VoxelBox, o [3]int) VoxelBox {
	if b.Empty() {
		return b
	}
	for a := range 3 {
		b.Min[a] += o[a]
		b.Max[a] += o[a]
	}
	return b
}

// det3 is the determinant of an affine's 3×3 part: a voxel's signed
// volume in mm³.
func det3(a volume.Affine) float64 {
	return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
}

// previewTrack follows the pending preview as it grows (a propagation adds
// slices to its scope), so that each re-mesh looks only at what is new:
// which voxels the preview decides, and the box of those it proposes a
// value for.
type previewTrack struct {
	p      *preview
	in     []bool   // valueSet of the values it proposes
	scoped []uint64 // bit per voxel: in the scope; nil for a whole-volume preview
	seen   int      // scope entries looked at
	box    VoxelBox // of the voxels it proposes a value for
}

// follow brings the track up to p (nil: no preview); the session's lock
// is held.
func (t *previewTrack) follow(p *preview, dims [3]int) {
	if p != t.p {
		*t = previewTrack{p: p}
		if p == nil {
			return
		}
		t.in = valueSet(p.info.Values)
		if p.scope != nil {
			t.scoped = make([]uint64, (p.labels.grid.Len()+63)/64)
		} else {
			nx := dims[0]
			for z, pl := range p.labels.planes {
				for j, v := range pl {
					if v != 0 {
						t.box.add(j%nx, j/nx, z)
					}
				}
			}
		}
	}
	if p == nil || p.scope == nil {
		return
	}
	// A scope only grows (slices streaming in). Its box, not only the box
	// of the voxels proposed so far, bounds the proposal: an engine may
	// decide a slice again, with the same scope.
	nx, nxy := dims[0], dims[0]*dims[1]
	for _, u := range p.scope[t.seen:] {
		i := int(u)
		t.scoped[i/64] |= 1 << (i % 64)
		t.box.add(i%nx, i%nxy/nx, i/nxy)
	}
	t.seen = len(p.scope)
}

// merged returns the value voxel i gets when the preview is accepted, cur
// being its value now: preview.merge's rule.
func (t *previewTrack) merged(i int, cur uint16) uint16 {
	if t.scoped != nil && t.scoped[i/64]&(1<<(i%64)) == 0 {
		return cur
	}
	prop := t.p.labels.At(i)
	switch {
	case prop != 0 && (cur == 0 || t.in[cur]):
		return prop
	case prop == 0 && t.in[cur]:
		return 0
	}
	return cur
}
