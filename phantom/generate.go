package phantom

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/polyseg/polyseg/volume"
)

// Options selects one phantom. The zero Scanner is not valid: start from a
// preset (ScannerA, ScannerB).
type Options struct {
	// Seed chooses the patient and the noise; the same seed and scanner
	// always give the same volume, bit for bit, whatever Workers is.
	Seed    int64
	Scanner Scanner
	// Workers bounds the goroutines that rasterise slices; 0 means
	// GOMAXPROCS.
	Workers int
}

// Streams of the random generator: each slice draws its noise from its own
// stream so that slices can be made in any order.
const (
	streamAnatomy = iota
	streamTexture
	streamNoise
)

// Generate makes a phantom CT volume in HU and its label volume on the same
// grid. It stops early, returning ctx's error, when ctx is cancelled.
func Generate(ctx context.Context, opt Options) (*volume.Volume, *volume.Labels, error) {
	sc := opt.Scanner
	if err := sc.Validate(); err != nil {
		return nil, nil, fmt.Errorf("phantom: scanner %q: %w", sc.Name, err)
	}
	r := rand.New(rand.NewPCG(uint64(opt.Seed), streamAnatomy))
	an := newAnatomy(r)
	hu := an.huTable(r, sc.Phase)

	n, nz := sc.Matrix, sc.Slices
	d, th := sc.PixelSpacing(), sc.SliceThickness
	// Thin-slice scans are centred on the upper abdomen (liver, spleen,
	// kidneys); longer coverage reaches down into the pelvis.
	cover := float64(nz) * th
	zc := 30 - 35*math.Max(0, math.Min(1, (cover-192)/128)) + normal(r, 0, 10)
	xoff, yoff := normal(r, 0, 6), normal(r, 12, 6)
	pl := plane{n: n, d: d,
		x0: -sc.FOV/2 + d/2 + xoff,
		y0: -sc.FOV/2 + d/2 + yoff}
	z0 := zc - cover/2 + th/2

	aff := volume.Affine{
		{d, 0, 0, pl.x0},
		{0, d, 0, pl.y0},
		{0, 0, th, z0},
		{0, 0, 0, 1},
	}
	g := volume.Grid{Dims: [3]int{n, n, nz}, Affine: aff}
	if err := volume.CheckDims(g.Dims); err != nil {
		return nil, nil, fmt.Errorf("phantom: %w", err)
	}
	vol := &volume.Volume{Grid: g, Data: make([]float32, g.Len()),
		Source: fmt.Sprintf("phantom seed %d scanner %s", opt.Seed, sc.Name),
		Meta:   metaFor(aff, [3]float64{d, d, th})}
	lab := volume.NewLabels(g)

	// Sub-slices average the anatomy over the slice thickness (partial
	// volume along z); an odd count puts one at the slice centre, where the
	// labels are taken.
	sub := 2*int(th/2.5) + 1
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	texKern := gaussKernel(2.5 / d) // texture of about 2.5 mm grain
	noiseKern := gaussKernel(0.6)   // CT noise is correlated over about a pixel
	psf := gaussKernel(sc.BlurSigma / d)
	sigma := float32(sc.NoiseSigma)
	// Each slice is made whole by one worker, from its own random streams:
	// the result does not depend on the order or the number of workers.
	err := parallel(ctx, workers, nz, func() func(k int) {
		cv := newCanvas(pl)
		sum := make([]float32, n*n)
		field := make([]float32, n*n)
		tmp := make([]float32, n*n)
		return func(k int) {
			clear(sum)
			off := k * n * n
			sl := vol.Data[off : off+n*n]
			zk := z0 + float64(k)*th
			for s := 0; s < sub; s++ {
				z := zk + ((float64(s)+0.5)/float64(sub)-0.5)*th
				an.paint(cv, z)
				for p, t := range cv.tis {
					sum[p] += hu[t].mean
				}
				if s == sub/2 {
					copy(lab.Data[off:off+n*n], cv.lab)
					// Texture, scaled per tissue.
					smoothNoise(field, tmp, n, opt.Seed, streamTexture, k, texKern)
					for p, t := range cv.tis {
						field[p] *= hu[t].tex
					}
				}
			}
			for p := range sl {
				sl[p] = sum[p]/float32(sub) + field[p]
			}
			// The scanner: in-plane blur (the reconstruction kernel), then
			// noise.
			blur2D(sl, tmp, n, n, psf)
			smoothNoise(field, tmp, n, opt.Seed, streamNoise, k, noiseKern)
			for p := range sl {
				v := sl[p] + sigma*field[p]
				// Stored as integers, as scanners store HU.
				sl[p] = float32(math.Round(math.Max(-1024, math.Min(3071, float64(v)))))
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return vol, lab, nil
}

// tissueValue is one tissue's HU in one patient: mean and texture amplitude.
type tissueValue struct{ mean, tex float32 }

// huTable returns this patient's HU per tissue: the calibrated means moved by
// a little per-patient variation.
func (a *anatomy) huTable(r *rand.Rand, ph Phase) [nTissues]tissueValue {
	var t [nTissues]tissueValue
	enh := uniform(r, 0.85, 1.15) // how well this bolus enhanced
	shift := [nTissues]float64{
		tFat: normal(r, 0, 4), tMuscle: normal(r, 0, 4), tLiver: normal(r, 0, 3),
		tSpleen: normal(r, 0, 3), tKidneyCortex: normal(r, 0, 3), tCancellous: normal(r, 0, 25),
	}
	for i, v := range tissueHU {
		m := v.nc
		if ph == PortalVenous {
			m = v.nc + enh*(v.pv-v.nc)
		}
		t[i] = tissueValue{mean: float32(m + shift[i]), tex: float32(v.tex)}
	}
	return t
}

// smoothNoise fills f (n×n) with noise of unit standard deviation: white
// Gaussian noise from the random stream of (seed, stream, slice), blurred
// by kernel k. tmp is scratch of the same size.
func smoothNoise(f, tmp []float32, n int, seed int64, stream uint64, slice int, k []float32) {
	r := rand.New(rand.NewPCG(uint64(seed), stream<<32|uint64(slice)))
	for p := range f {
		f[p] = float32(r.NormFloat64())
	}
	blur2D(f, tmp, n, n, k)
	// Blurring white noise divides its variance by the sum of the squared
	// kernel weights, once per axis; undo that.
	scale := float32(1 / sumSq(k))
	for p := range f {
		f[p] *= scale
	}
}

func sumSq(k []float32) float64 {
	if k == nil {
		return 1
	}
	var s float64
	for _, v := range k {
		s += float64(v) * float64(v)
	}
	return s
}

// parallel calls the function made by mk for each of n items on up to
// workers goroutines, each with its own function (and so its own scratch
// memory). It returns ctx's error if ctx is cancelled first.
func parallel(ctx context.Context, workers, n int, mk func() func(int)) error {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := mk()
			for i := range next {
				f(i)
			}
		}()
	}
	var err error
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("phantom: %w", err)
	}
	return nil
}

// metaFor returns NIfTI spatial fields for an axis-aligned RAS grid: the
// quaternion of the identity rotation and the same matrix as sform.
func metaFor(a volume.Affine, sp [3]float64) volume.NIfTIMeta {
	return volume.NIfTIMeta{
		QformCode: 2, SformCode: 2, // aligned to an anatomical reference
		Qform: a, Sform: a,
		QOffset:   [3]float64{a[0][3], a[1][3], a[2][3]},
		Qfac:      1,
		Pixdim:    [8]float64{1, sp[0], sp[1], sp[2]},
		XYZTUnits: 2, // millimetres
	}
}
