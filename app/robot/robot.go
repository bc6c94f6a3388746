package robot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/interp"
	"github.com/polyseg/polyseg/metrics"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Start is how the SAM robot's first interaction begins.
type Start string

// The starts of the first interaction.
const (
	// StartBox draws the reference organ's bounding box on its largest
	// axial slice.
	StartBox Start = "box"
	// StartMask traces the reference mask on that slice instead.
	StartMask Start = "mask"
	// StartClick makes one positive SAM click there instead, at the
	// reference organ's deepest point, on a slice where nothing is drawn.
	StartClick Start = "click"
)

// DefaultMax is the number of interactions a run makes unless told.
const DefaultMax = 10

// Options configure a run. The zero value is not usable: Label is
// required; the rest have defaults.
type Options struct {
	// Label is the organ's value in the reference, and the segment the
	// robot draws in the session.
	Label uint16
	// Max is the number of interactions, the first included (DefaultMax
	// when zero).
	Max int
	// Start is how the SAM robot begins (StartBox when empty).
	Start Start
	// OnStep, when set, hears about every interaction as it ends.
	OnStep func(Step)
}

// Step is one interaction and where it left the labels.
type Step struct {
	// Interaction counts from 1.
	Interaction int
	// Dice is the label's 3D Dice against the reference after it.
	Dice float64
	// Slice is the axial slice acted on, as the views number it (from 0).
	Slice int
	// Seconds is the interaction's wall time: SAM's decode and the
	// propagation for the SAM robot, the trace and the fill for the manual
	// one.
	Seconds float64
	// What says what the robot did ("box", "click +", "click -",
	// "trace").
	What string
}

// SliceDoubt is one axial slice after the first interaction, for judging
// the doubt flags: its 2D Dice against the reference and what the strip
// said of it.
type SliceDoubt struct {
	// Slice is the axial view's slice number.
	Slice int
	// Dice is the slice's 2D Dice (1 when both are empty).
	Dice float64
	// Decided says the propagation decided the slice; Anchor and Doubtful
	// are the strip's marks (a slice flagged beyond a chain's end is
	// doubtful, not decided), Confidence its value (NaN when neither) and
	// Reason why it is doubtful.
	Decided, Anchor, Doubtful bool
	// Unchecked marks a slice flagged beyond a chain's end
	// (app.SliceConfidence.Unchecked).
	Unchecked  bool
	Confidence float64
	Reason     string
	// InRef and InPred say whether the reference and the result hold the
	// organ on the slice.
	InRef, InPred bool
}

// Result is a run's account.
type Result struct {
	Steps []Step
	// NoC90 and NoC95 are the interactions needed to reach a Dice of 0.90
	// and 0.95 (Max+1 when never).
	NoC90, NoC95 int
	// Slices are the axial slices holding the organ in the reference or
	// the result after the first interaction, or decided by it (the SAM
	// robot only).
	Slices []SliceDoubt
}

// noc returns the number of interactions needed to reach dice at least
// target, max+1 when never.
func noc(steps []Step, target float64, max int) int {
	for _, s := range steps {
		if s.Dice >= target {
			return s.Interaction
		}
	}
	return max + 1
}

// runner is the state of one run.
type runner struct {
	s     *app.Session
	v     *volume.Volume
	ref   *volume.Labels
	opts  Options
	sl    *section.Slicer
	vs    viewer.Slicer
	dr    float64
	dc    float64
	refOn []bool
	res   Result
}

func newRunner(s *app.Session, ref *volume.Labels, opts Options) (*runner, error) {
	v, _ := s.Volume()
	if v == nil {
		return nil, app.ErrNoVolume
	}
	if opts.Label == 0 {
		return nil, errors.New("robot: no label given")
	}
	if !ref.Grid.Equal(v.Grid, viewer.GridTolerance) || len(ref.Data) != v.Len() {
		return nil, errors.New("robot: the reference is not on the scan's grid")
	}
	if opts.Max <= 0 {
		opts.Max = DefaultMax
	}
	if opts.Start == "" {
		opts.Start = StartBox
	}
	if opts.Start != StartBox && opts.Start != StartMask && opts.Start != StartClick {
		return nil, fmt.Errorf("robot: start %q: want box, mask or click", opts.Start)
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, err
	}
	r := &runner{s: s, v: v, ref: ref, opts: opts, sl: sl, vs: viewer.NewSlicer(v.Grid, viewer.Axial)}
	r.dr, r.dc = sl.PixelSpacing()
	r.refOn = make([]bool, len(ref.Data))
	any := false
	for i, x := range ref.Data {
		r.refOn[i] = x == opts.Label
		any = any || r.refOn[i]
	}
	if !any {
		return nil, fmt.Errorf("robot: the reference holds no voxel of label %d", opts.Label)
	}
	return r, nil
}

// view returns the axial view's slice number of axial slice k.
func (r *runner) view(k int) int {
	vx := r.sl.Voxel(k, 0, 0)
	n, _, _ := r.vs.Locate(vx[0], vx[1], vx[2])
	return n
}

// largest returns the axial slice where the reference organ is largest,
// and its mask.
func (r *runner) largest() (int, *section.Mask, error) {
	best, area := -1, 0
	var bm *section.Mask
	for k := 0; k < r.sl.Slices; k++ {
		m, err := r.sl.Mask(r.ref, k, r.opts.Label)
		if err != nil {
			return 0, nil, err
		}
		if a := m.Area(); a > area {
			best, area, bm = k, a, m
		}
	}
	return best, bm, nil
}

// labels returns a copy of the session's labels.
func (r *runner) labels() *volume.Labels {
	var out *volume.Labels
	r.s.Read(func(_ *volume.Volume, o *viewer.Overlay) {
		out = &volume.Labels{Grid: o.Labels.Grid, Data: append([]uint16(nil), o.Labels.Data...)}
	})
	return out
}

// dice is the label's 3D Dice of l against the reference.
func (r *runner) dice(l *volume.Labels) float64 {
	p := make([]bool, len(l.Data))
	for i, x := range l.Data {
		p[i] = x == r.opts.Label
	}
	return metrics.Dice(p, r.refOn)
}

// record adds a step and tells OnStep.
func (r *runner) record(st Step) {
	r.res.Steps = append(r.res.Steps, st)
	if r.opts.OnStep != nil {
		r.opts.OnStep(st)
	}
}

func (r *runner) finish() *Result {
	r.res.NoC90 = noc(r.res.Steps, 0.90, r.opts.Max)
	r.res.NoC95 = noc(r.res.Steps, 0.95, r.opts.Max)
	return &r.res
}

// wait waits for job (or ctx) and returns the job's error.
func wait(ctx context.Context, job *app.Job, err error) error {
	if err != nil {
		return err
	}
	select {
	case <-job.Done():
		return job.Err()
	case <-ctx.Done():
		job.Cancel()
		<-job.Done()
		return ctx.Err()
	}
}

// accept waits for job and accepts the preview it left.
func (r *runner) accept(ctx context.Context, job *app.Job, err error) error {
	if err := wait(ctx, job, err); err != nil {
		return err
	}
	if _, err := r.s.AcceptPreview(); err != nil {
		return fmt.Errorf("%s: %w", job.Name(), err)
	}
	return nil
}

// trace draws the reference mask on axial slice k as one polygon stroke,
// as a person tracing its contour would.
func (r *runner) trace(k int) error {
	m, err := r.sl.Mask(r.ref, k, r.opts.Label)
	if err != nil {
		return err
	}
	var idx []int
	for i, on := range m.Data {
		if on {
			vx := r.sl.Voxel(k, i/m.Cols, i%m.Cols)
			idx = append(idx, r.v.Index(vx[0], vx[1], vx[2]))
		}
	}
	st, err := r.s.BeginStroke("Polygon", app.PaintOptions{Value: r.opts.Label},
		&app.Provenance{Tool: "polygon", Prompts: &app.Prompts{Plane: "axial", AnchorSlices: []int{r.view(k)}}})
	if err != nil {
		return err
	}
	if _, err := st.Paint(idx); err != nil {
		return err
	}
	_, err = st.End()
	return err
}

// worst returns the axial slice with the most wrong voxels of l (the
// lowest slice of a tie), and false when l equals the reference.
func (r *runner) worst(l *volume.Labels) (int, bool) {
	best, most := -1, 0
	for k := 0; k < r.sl.Slices; k++ {
		n := 0
		r.sl.Each(k, func(_, idx int) {
			if (l.Data[idx] == r.opts.Label) != r.refOn[idx] {
				n++
			}
		})
		if n > most {
			best, most = k, n
		}
	}
	return best, best >= 0
}

// click is the robot's click on slice k of l (NextClick).
func (r *runner) click(l *volume.Labels, k int) (row, col int, positive bool, err error) {
	pred, err := r.sl.Mask(l, k, r.opts.Label)
	if err != nil {
		return 0, 0, false, err
	}
	ref, err := r.sl.Mask(r.ref, k, r.opts.Label)
	if err != nil {
		return 0, 0, false, err
	}
	row, col, positive, ok := NextClick(pred, ref, r.dr, r.dc)
	if !ok {
		return 0, 0, false, fmt.Errorf("robot: slice %d has nothing wrong", k)
	}
	return row, col, positive, nil
}

// NextClick is the usual click simulation on a slice whose mask is pred
// and reference ref (pixel sizes dr, dc in mm): the larger of the largest
// missed region and the largest wrongly added region, and its point
// farthest from that region's border (pixels beyond the slice count as
// border); positive for a missed region. It returns false when pred
// equals ref.
func NextClick(pred, ref *section.Mask, dr, dc float64) (row, col int, positive, ok bool) {
	fn, fp := section.NewMask(ref.Rows, ref.Cols), section.NewMask(ref.Rows, ref.Cols)
	for i := range ref.Data {
		fn.Data[i] = ref.Data[i] && !pred.Data[i]
		fp.Data[i] = pred.Data[i] && !ref.Data[i]
	}
	bigFN, nFN := largestComponent(fn)
	bigFP, nFP := largestComponent(fp)
	region, positive := bigFN, true
	if nFP > nFN {
		region, positive = bigFP, false
	}
	if region == nil {
		return 0, 0, false, false
	}
	i, _ := section.Deepest(region, dr, dc)
	return i / region.Cols, i % region.Cols, positive, true
}

// largestComponent returns the largest 8-connected piece of m and its
// size (nil, 0 when m is empty).
func largestComponent(m *section.Mask) (*section.Mask, int) {
	lab, n := section.Components(m)
	if n == 0 {
		return nil, 0
	}
	best, size := section.Largest(lab, n)
	return section.Component(lab, best, m.Rows, m.Cols), size
}

// SAM runs the SAM robot on session s, whose scan ref labels: interaction
// 1 is a box around the reference organ on its largest axial slice (or,
// with StartMask, that slice's reference mask; with StartClick, one SAM
// click at the organ's deepest point there), SAM, accept, propagate,
// accept; each later interaction is one click on the slice with the most
// wrong voxels, which the app re-decodes, makes an anchor and propagates
// again from (P), accepted. Every step goes through the app's own
// operations, as the UI's would. The session's labels of the organ
// should start empty.
func SAM(ctx context.Context, s *app.Session, ref *volume.Labels, opts Options) (*Result, error) {
	r, err := newRunner(s, ref, opts)
	if err != nil {
		return nil, err
	}
	k, m, err := r.largest()
	if err != nil {
		return nil, err
	}
	view := r.view(k)
	t0 := time.Now()
	what := string(r.opts.Start)
	switch r.opts.Start {
	case StartBox:
		b, _ := m.Bounds()
		a, bb := r.sl.Voxel(k, b.R0, b.C0), r.sl.Voxel(k, b.R1, b.C1)
		job, err := s.BoxPrompt(viewer.Axial, view, a, bb, r.opts.Label)
		if err := r.accept(ctx, job, err); err != nil {
			return nil, fmt.Errorf("interaction 1 (box): %w", err)
		}
	case StartMask:
		if err := r.trace(k); err != nil {
			return nil, fmt.Errorf("interaction 1 (mask): %w", err)
		}
	case StartClick:
		row, col, _, _ := NextClick(section.NewMask(m.Rows, m.Cols), m, r.dr, r.dc)
		job, err := s.Click(viewer.Axial, view, r.sl.Voxel(k, row, col), true, r.opts.Label)
		if err := r.accept(ctx, job, err); err != nil {
			return nil, fmt.Errorf("interaction 1 (click): %w", err)
		}
	}
	job, err := s.Propagate(app.PropagateRequest{Plane: viewer.Axial, Slice: view, Label: r.opts.Label})
	if err := r.accept(ctx, job, err); err != nil {
		return nil, fmt.Errorf("interaction 1 (propagate): %w", err)
	}
	l := r.labels()
	r.record(Step{Interaction: 1, Dice: r.dice(l), Slice: view, Seconds: time.Since(t0).Seconds(), What: what})
	if err := r.doubts(l); err != nil {
		return nil, err
	}
	for i := 2; i <= r.opts.Max; i++ {
		k, ok := r.worst(l)
		if !ok {
			r.record(Step{Interaction: i, Dice: 1, Slice: -1, What: "nothing left to correct"})
			continue
		}
		row, col, positive, err := r.click(l, k)
		if err != nil {
			return nil, err
		}
		view := r.view(k)
		t0 := time.Now()
		job, err := s.Click(viewer.Axial, view, r.sl.Voxel(k, row, col), positive, r.opts.Label)
		if err := wait(ctx, job, err); err != nil {
			return nil, fmt.Errorf("interaction %d (click on slice %d): %w", i, view+1, err)
		}
		job, err = s.Propagate(app.PropagateRequest{Plane: viewer.Axial, Slice: view, Label: r.opts.Label})
		if err := r.accept(ctx, job, err); err != nil {
			return nil, fmt.Errorf("interaction %d (propagate from slice %d): %w", i, view+1, err)
		}
		l = r.labels()
		what := "click +"
		if !positive {
			what = "click -"
		}
		r.record(Step{Interaction: i, Dice: r.dice(l), Slice: view, Seconds: time.Since(t0).Seconds(), What: what})
	}
	return r.finish(), nil
}

// doubts records, after the first interaction, every axial slice that the
// reference or the result holds the organ on, or that the propagation
// decided: its 2D Dice and the strip's marks.
func (r *runner) doubts(l *volume.Labels) error {
	conf := r.s.Confidence(viewer.Axial, r.opts.Label)
	for k := 0; k < r.sl.Slices; k++ {
		p, err := r.sl.Mask(l, k, r.opts.Label)
		if err != nil {
			return err
		}
		q, err := r.sl.Mask(r.ref, k, r.opts.Label)
		if err != nil {
			return err
		}
		n := r.view(k)
		var c app.SliceConfidence
		if n < len(conf) {
			c = conf[n]
		} else {
			c.Confidence = math.NaN()
		}
		d := SliceDoubt{Slice: n, Dice: section.Dice(p, q), InRef: q.Area() > 0, InPred: p.Area() > 0,
			Decided: !math.IsNaN(c.Confidence) && !c.Unchecked, Anchor: c.Anchor, Doubtful: c.Doubtful, Unchecked: c.Unchecked, Confidence: c.Confidence, Reason: c.Reason}
		if d.InRef || d.InPred || d.Decided || d.Doubtful {
			r.res.Slices = append(r.res.Slices, d)
		}
	}
	return nil
}

// Manual runs the manual robot on session s: each interaction traces the
// reference contour on one more axial slice (a polygon is one
// interaction), the slice fill between slices gains most from (tried on
// every slice the reference holds the organ on, the largest first when
// none is traced), then fills between the traced slices (the app's shape
// interpolation, accepted; the previous fill is undone first, as the app
// fills only the slices that hold nothing of the label). The session's
// labels of the organ should start empty.
func Manual(ctx context.Context, s *app.Session, ref *volume.Labels, opts Options) (*Result, error) {
	r, err := newRunner(s, ref, opts)
	if err != nil {
		return nil, err
	}
	first, _, err := r.largest()
	if err != nil {
		return nil, err
	}
	var organ []int
	for k := 0; k < r.sl.Slices; k++ {
		n := 0
		r.sl.Each(k, func(_, idx int) {
			if r.refOn[idx] {
				n++
			}
		})
		if n > 0 {
			organ = append(organ, k)
		}
	}
	traced := map[int]bool{}
	filled := false // the last interaction's fill is the latest undo step
	for i := 1; i <= r.opts.Max; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := first
		if i > 1 {
			if k, err = r.bestTrace(ctx, organ, traced); err != nil {
				return nil, err
			}
		}
		if k < 0 {
			r.record(Step{Interaction: i, Dice: r.dice(r.labels()), Slice: -1, What: "every slice traced"})
			continue
		}
		t0 := time.Now()
		if filled {
			// The fill is made again from every traced slice: the app
			// fills only slices that hold nothing of the label.
			if _, ok := s.Undo(); !ok {
				return nil, fmt.Errorf("interaction %d: the last fill could not be undone", i)
			}
			filled = false
		}
		if err := r.trace(k); err != nil {
			return nil, fmt.Errorf("interaction %d (trace slice %d): %w", i, r.view(k)+1, err)
		}
		traced[k] = true
		// Traced slices next to each other leave nothing to fill.
		if len(interp.Gaps(sortedKeys(traced))) > 0 {
			job, err := s.FillBetween(viewer.Axial, r.opts.Label, app.FillShape)
			if err := r.accept(ctx, job, err); err != nil {
				return nil, fmt.Errorf("interaction %d (fill): %w", i, err)
			}
			filled = true
		}
		r.record(Step{Interaction: i, Dice: r.dice(r.labels()), Slice: r.view(k), Seconds: time.Since(t0).Seconds(), What: "trace"})
	}
	return r.finish(), nil
}

// bestTrace returns the untraced organ slice whose tracing, with the fill
// between the traced slices, gives the highest Dice (-1 when every organ
// slice is traced). It plans with the fill directly; the robot then acts
// through the app.
func (r *runner) bestTrace(ctx context.Context, organ []int, traced map[int]bool) (int, error) {
	best, bestDice := -1, -1.0
	base := volume.NewLabels(r.v.Grid)
	for k := range traced {
		r.sl.Each(k, func(_, idx int) {
			if r.refOn[idx] {
				base.Data[idx] = r.opts.Label
			}
		})
	}
	axis := r.sl.Axis()
	for _, k := range organ {
		if traced[k] {
			continue
		}
		try := &volume.Labels{Grid: base.Grid, Data: append([]uint16(nil), base.Data...)}
		r.sl.Each(k, func(_, idx int) {
			if r.refOn[idx] {
				try.Data[idx] = r.opts.Label
			}
		})
		ks := append(sortedKeys(traced), k)
		slices.Sort(ks)
		if len(interp.Gaps(ks)) > 0 {
			res, err := interp.Fill(ctx, try, r.opts.Label, interp.Options{Axis: axis})
			if err != nil {
				return 0, err
			}
			try = res.Labels
		}
		if d := r.dice(try); d > bestDice {
			best, bestDice = k, d
		}
	}
	return best, nil
}

func sortedKeys(m map[int]bool) []int {
	out := slices.Collect(maps.Keys(m))
	slices.Sort(out)
	return out
}
