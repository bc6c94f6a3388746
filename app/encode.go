package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// encodeAhead is the background encoding of the open scan's axial slices.
type encodeAhead struct {
	job    *Job
	vol    *volume.Volume
	window models.Window
}

// EncodeAheadName names the background encoding job.
const EncodeAheadName = "Encode slices for SAM"

// SetActiveLabel tells the session which label the user works on. With
// Options.EncodeAhead, the background encoding uses that segment's SAM
// window: the encoder's default for every segment unless the settings
// give its name one of its own (internal/settings). So changing segments
// normally changes nothing; a segment with a window of its own starts the
// encoding again in that window (slices cached in it cost nothing).
func (s *Session) SetActiveLabel(v uint16) {
	s.mu.Lock()
	changed := s.active != v
	s.active = v
	s.mu.Unlock()
	if changed && s.opts.EncodeAhead {
		// Loading SAM takes a moment: never on the caller's (the UI's)
		// goroutine.
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.startEncodeAhead()
		}()
	}
}

// startEncodeAhead starts encoding the open scan's axial slices with SAM's
// encoder in the background, nearest the crosshair first, into the
// embedding cache, so that a propagation later costs only the decoder. It
// runs at the lowest priority (SAM's foreground calls preempt it) and is a
// job the user may cancel. Nothing happens when it already runs for the
// same scan and window, or when SAM cannot be loaded.
func (s *Session) startEncodeAhead() {
	// A new scan and a new label may ask at once: one decides at a time.
	s.encodeMu.Lock()
	defer s.encodeMu.Unlock()
	s.mu.RLock()
	v, label := s.vol, s.active
	cur := s.encode
	s.mu.RUnlock()
	if v == nil {
		return
	}
	sm := s.models.LoadedSAM()
	if sm == nil {
		var err error
		if sm, err = s.models.SAM(); err != nil {
			return // the model tools say why SAM is missing
		}
		s.changed(ChangeModels)
	}
	w := windowOr(s.samWindow(label), sm.DefaultWindow())
	if cur != nil && cur.vol == v && cur.window == w {
		select {
		case <-cur.job.Done():
		default:
			return
		}
	}
	if cur != nil {
		cur.job.Cancel()
	}
	ea := &encodeAhead{vol: v, window: w}
	ea.job = s.RunJob(EncodeAheadName, func(ctx context.Context, p Progress) error {
		return s.encodeSlices(ctx, p, sm, v, w)
	})
	s.mu.Lock()
	s.encode = ea
	s.mu.Unlock()
}

// EncodeAheadJob returns the background encoding job, or nil.
func (s *Session) EncodeAheadJob() *Job {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.encode == nil {
		return nil
	}
	return s.encode.job
}

// encodeSlices encodes every axial slice of v not yet in the cache, the
// one nearest the crosshair's first, looking again after each.
func (s *Session) encodeSlices(ctx context.Context, p Progress, sm *sam.Model, v *volume.Volume, w models.Window) error {
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return err
	}
	done := make([]bool, sl.Slices)
	left := sl.Slices
	for k := 0; k < sl.Slices; k++ {
		cached, err := sm.SliceCached(v, sl, k, w)
		if err != nil {
			return err
		}
		if cached {
			done[k] = true
			left--
		}
	}
	for left > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := s.nearestUndone(v, sl, done)
		p.Report(float64(sl.Slices-left)/float64(sl.Slices), fmt.Sprintf("slice %d (%d left)", k+1, left))
		if _, err := sm.SliceEmbeddingBackground(ctx, v, sl, k, w); err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("encode slice %d: %w", k+1, err)
		}
		done[k] = true
		left--
	}
	return nil
}

// nearestUndone returns the slice not yet done nearest the crosshair's
// axial slice (the slice the user looks at is the one a prompt comes
// from, and propagation starts from it).
func (s *Session) nearestUndone(v *volume.Volume, sl *section.Slicer, done []bool) int {
	c := s.Cursor()
	at := 0
	if v.Contains(c[0], c[1], c[2]) {
		at, _, _ = sl.Pixel(c)
	}
	for d := 0; d < 2*len(done); d++ {
		for _, k := range []int{at - d, at + d} {
			if k >= 0 && k < len(done) && !done[k] {
				return k
			}
		}
	}
	return 0
}
