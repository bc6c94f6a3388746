package metrics

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Result holds the comparison of a prediction P with a reference R.
type Result struct {
	Dice      float64
	HD95      float64 // mm; NaN when !Defined
	ASSD      float64 // mm; NaN when !Defined
	Defined   bool    // HD95 and ASSD are defined (neither or both masks empty)
	BothEmpty bool
	VolumeP   float64 // mL
	VolumeR   float64 // mL
	// RelVolumeError is (VolumeP - VolumeR) / VolumeR; NaN when R is empty.
	RelVolumeError float64
}

// Compare computes every metric for binary masks p and r on a grid of dims
// d (i fastest) with voxel spacing sp in mm. Surface distances are computed
// over the bounding box of both masks only, so the cost follows the
// organ's size, not the scan's.
func Compare(p, r []bool, d [3]int, sp [3]float64) (Result, error) {
	n := d[0] * d[1] * d[2]
	if len(p) != n || len(r) != n {
		return Result{}, fmt.Errorf("metrics: masks have %d and %d voxels, grid %v has %d", len(p), len(r), d, n)
	}
	if err := checkSpacing(sp); err != nil {
		return Result{}, err
	}
	var c counts
	c.bp, c.br = emptyBox(), emptyBox()
	for k := 0; k < d[2]; k++ {
		for j := 0; j < d[1]; j++ {
			row := d[0] * (j + d[1]*k)
			for i := 0; i < d[0]; i++ {
				inP, inR := p[row+i], r[row+i]
				if inP {
					c.np++
					c.bp.add(i, j, k)
					if inR {
						c.inter++
					}
				}
				if inR {
					c.nr++
					c.br.add(i, j, k)
				}
			}
		}
	}
	return c.result(context.Background(), d, sp, func(i int) bool { return p[i] }, func(i int) bool { return r[i] })
}

// counts are what one pass over a pair of masks gathers: voxel counts and
// the bounding boxes of each mask.
type counts struct {
	np, nr, inter int
	bp, br        box
}

// result turns counts into a Result, computing surface distances over the
// bounding box of both masks when both are non-empty. inP and inR tell
// whether voxel idx of the full grid is in P and in R.
func (c counts) result(ctx context.Context, d [3]int, sp [3]float64, inP, inR func(idx int) bool) (Result, error) {
	var res Result
	voxelML := sp[0] * sp[1] * sp[2] / 1000
	res.VolumeP, res.VolumeR = float64(c.np)*voxelML, float64(c.nr)*voxelML
	res.RelVolumeError = math.NaN()
	if c.nr > 0 {
		res.RelVolumeError = (res.VolumeP - res.VolumeR) / res.VolumeR
	}
	switch {
	case c.np == 0 && c.nr == 0:
		res.Dice, res.BothEmpty, res.Defined = 1, true, true
		return res, nil
	case c.np == 0 || c.nr == 0:
		res.HD95, res.ASSD = math.NaN(), math.NaN()
		return res, nil
	}
	res.Dice = 2 * float64(c.inter) / float64(c.np+c.nr)
	b := c.bp.union(c.br)
	all, err := surfaceDistances(ctx, crop(b, d, inP), crop(b, d, inR), b.dims(), sp)
	if err != nil {
		return Result{}, err
	}
	var sum float64
	for _, x := range all {
		sum += x
	}
	res.Defined = true
	res.ASSD = sum / float64(len(all))
	res.HD95 = percentile(all, 95)
	return res, nil
}

// checkSpacing refuses spacings that would make every distance and volume
// meaningless.
func checkSpacing(sp [3]float64) error {
	for _, s := range sp {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("metrics: voxel spacing %v mm: want positive finite values", sp)
		}
	}
	return nil
}

// Dice returns the Dice coefficient of two binary masks (1 when both are
// empty).
func Dice(p, r []bool) float64 {
	np, nr, inter := overlap(p, r)
	if np+nr == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(np+nr)
}

// overlap counts the voxels set in p, in r and in both.
func overlap(p, r []bool) (np, nr, inter int) {
	for i := range p {
		if p[i] {
			np++
			if r[i] {
				inter++
			}
		}
		if r[i] {
			nr++
		}
	}
	return np, nr, inter
}

// percentile returns the q-th percentile of xs with linear interpolation
// between order statistics (NumPy's default). xs is sorted in place.
func percentile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	pos := q / 100 * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(xs)-1)
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// DiceOf returns the Dice coefficient of label value v in two label
// volumes of the same grid (1 when neither holds it).
func DiceOf(pred, ref []uint16, v uint16) float64 {
	inter, np, nr := 0, 0, 0
	for i, p := range pred {
		a, b := p == v, ref[i] == v
		if a {
			np++
		}
		if b {
			nr++
		}
		if a && b {
			inter++
		}
	}
	if np+nr == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(np+nr)
}
