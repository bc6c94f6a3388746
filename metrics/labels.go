package metrics

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// LabelResult is the comparison of one label value of two label volumes.
type LabelResult struct {
	Label uint16
	Result
}

// Failure reports whether exactly one of the masks is empty: Dice 0, HD95
// and ASSD undefined. evaluation.md counts such a case as a failure.
func (r Result) Failure() bool { return !r.Defined }

// CompareLabels compares label volumes pred and ref (one value per voxel,
// 0 for background) on a grid of dims d with voxel spacing sp in mm, for
// each value of labels in that order. With no labels it compares the union
// of the non-zero values present in either volume, in increasing order. A
// listed label present in neither volume gives a both-empty row (Dice 1),
// not an error. The volumes are read once for every label's counts and
// bounding box; surface distances are then computed per label over the
// bounding box of its two masks. ctx cancels the work between labels and
// between the passes of a distance transform.
func CompareLabels(ctx context.Context, pred, ref []uint16, d [3]int, sp [3]float64, labels []uint16) ([]LabelResult, error) {
	n := d[0] * d[1] * d[2]
	if d[0] <= 0 || d[1] <= 0 || d[2] <= 0 {
		return nil, fmt.Errorf("metrics: invalid grid dimensions %v", d)
	}
	if len(pred) != n || len(ref) != n {
		return nil, fmt.Errorf("metrics: label volumes have %d and %d voxels, grid %v has %d", len(pred), len(ref), d, n)
	}
	if err := checkSpacing(sp); err != nil {
		return nil, err
	}
	listed := make([]bool, math.MaxUint16+1)
	for _, l := range labels {
		switch {
		case l == 0:
			return nil, fmt.Errorf("metrics: label 0 is the background, not a label to compare")
		case listed[l]:
			return nil, fmt.Errorf("metrics: label %d listed twice", l)
		}
		listed[l] = true
	}
	// Slabs of slices are tallied in parallel, then merged: the pass over
	// every voxel costs as much as a large organ's distances.
	return compareLabels(ctx, pred, ref, d, sp, labels, max(1, min(runtime.GOMAXPROCS(0), n/(1<<20))))
}

// compareLabels is CompareLabels with the voxels tallied by the given
// number of goroutines.
func compareLabels(ctx context.Context, pred, ref []uint16, d [3]int, sp [3]float64, labels []uint16, workers int) ([]LabelResult, error) {
	workers = max(1, min(workers, d[2]))
	tallies := make([]*tally, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := newTally(labels)
			tallies[w] = t
			errs[w] = t.count(ctx, pred, ref, d, d[2]*w/workers, d[2]*(w+1)/workers)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	total := tallies[0]
	for _, t := range tallies[1:] {
		for s, l := range t.labels {
			c := &total.stats[total.at(l)]
			o := t.stats[s]
			c.np, c.nr, c.inter = c.np+o.np, c.nr+o.nr, c.inter+o.inter
			c.bp, c.br = c.bp.union(o.bp), c.br.union(o.br)
		}
	}
	labels = total.labels
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	if total.auto {
		slices.SortFunc(order, func(a, b int) int { return int(labels[a]) - int(labels[b]) })
	}
	stats := total.stats
	out := make([]LabelResult, 0, len(labels))
	for _, s := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := labels[s]
		res, err := stats[s].result(ctx, d, sp, func(i int) bool { return pred[i] == l }, func(i int) bool { return ref[i] == l })
		if err != nil {
			return nil, fmt.Errorf("label %d: %w", l, err)
		}
		out = append(out, LabelResult{Label: l, Result: res})
	}
	return out, nil
}

// tally gathers the counts and bounding boxes of labels over slices of a
// pair of label volumes.
type tally struct {
	auto   bool    // every label present is compared, given a slot on first sight
	slot   []int32 // slot[v] is label v's index in labels and stats; -1: not compared
	labels []uint16
	stats  []counts
}

// newTally returns a tally of the given labels or, with none, of every
// label present.
func newTally(labels []uint16) *tally {
	t := &tally{auto: true, slot: make([]int32, math.MaxUint16+1)}
	for i := range t.slot {
		t.slot[i] = -1
	}
	for _, l := range labels {
		t.at(l)
	}
	t.auto = len(labels) == 0
	return t
}

// at returns the slot of label v, giving it one if it has none and every
// label is compared; -1 for a label not compared.
func (t *tally) at(v uint16) int32 {
	s := t.slot[v]
	if s < 0 && t.auto {
		s = int32(len(t.labels))
		t.slot[v] = s
		t.labels = append(t.labels, v)
		t.stats = append(t.stats, counts{bp: emptyBox(), br: emptyBox()})
	}
	return s
}

// count adds slices k0 to k1 (exclusive) of pred and ref, on a grid of
// dims d, to the tally.
func (t *tally) count(ctx context.Context, pred, ref []uint16, d [3]int, k0, k1 int) error {
	for k := k0; k < k1; k++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for j := 0; j < d[1]; j++ {
			row := d[0] * (j + d[1]*k)
			p, r := pred[row:row+d[0]], ref[row:row+d[0]]
			for i := range p {
				lp, lr := p[i], r[i]
				if lp|lr == 0 {
					continue
				}
				if lp != 0 {
					if s := t.at(lp); s >= 0 {
						c := &t.stats[s]
						c.np++
						c.bp.add(i, j, k)
						if lr == lp {
							c.inter++
						}
					}
				}
				if lr != 0 {
					if s := t.at(lr); s >= 0 {
						c := &t.stats[s]
						c.nr++
						c.br.add(i, j, k)
					}
				}
			}
		}
	}
	return nil
}

// Stat is a mean and a standard deviation over N values.
type Stat struct {
	Mean, Std float64 // NaN when N is 0
	N         int
}

// Summary is the mean ± standard deviation of a multi-label comparison's
// rows, with the rows that cannot enter a mean counted, never dropped
// silently (evaluation.md).
type Summary struct {
	Labels int // rows summarised
	// BothEmpty rows (neither volume has the label) have Dice 1 and enter
	// the Dice mean as such, as evaluation.md defines Dice; they have no
	// surface, so they do not enter the HD95 and ASSD means.
	BothEmpty int
	// Failures are rows where exactly one volume has the label: Dice 0
	// enters the Dice mean, HD95 and ASSD are undefined and do not.
	Failures int
	// Dice is over every row; HD95 and ASSD over the rows where both
	// masks are non-empty. Std is the population standard deviation
	// (NumPy's default, ddof 0).
	Dice, HD95, ASSD Stat
}

// Summarize computes the Summary of rows.
func Summarize(rows []LabelResult) Summary {
	s := Summary{Labels: len(rows)}
	var dice, hd, assd []float64
	for _, r := range rows {
		dice = append(dice, r.Dice)
		switch {
		case r.BothEmpty:
			s.BothEmpty++
		case r.Failure():
			s.Failures++
		default:
			hd = append(hd, r.HD95)
			assd = append(assd, r.ASSD)
		}
	}
	s.Dice, s.HD95, s.ASSD = stat(dice), stat(hd), stat(assd)
	return s
}

func stat(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{Mean: math.NaN(), Std: math.NaN()}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return Stat{Mean: mean, Std: math.Sqrt(ss / float64(len(xs))), N: len(xs)}
}
