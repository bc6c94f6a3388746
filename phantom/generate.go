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
	tex := make([]float32, g.Len()) // texture amplitude per voxel

	// Sub-slices average the anatomy over the slice thickness (partial
	// volume along z); an odd count puts one at the slice centre, where the
	// labels are taken.
	sub := 2*int(th/2.5) + 1
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	err := parallel(ctx, workers, nz, func() func(k int) {
		cv := newCanvas(pl)
		sum := make([]float32, n*n)
		return func(k int) {
			clear(sum)
			zk := z0 + float64(k)*th
			for s := 0; s < sub; s++ {
				z := zk + ((float64(s)+0.5)/float64(sub)-0.5)*th
				an.paint(cv, z)
				for p, t := range cv.tis {
					sum[p] += hu[t].mean
				}
				if s == sub/2 {
					off := k * n * n
					copy(lab.Data[off:off+n*n], cv.lab)
					for p, t := range cv.tis {
						tex[off+p] = hu[t].tex
					}
				}
			}
			off := k * n * n
			for p := range sum {
				vol.Data[off+p] = sum[p] / float32(sub)
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}

	// Texture: smooth noise of about 2.5 mm grain, scaled per tissue.
	field, err := smoothNoise(ctx, workers, opt.Seed, streamTexture, n, nz, 2.5/d, 1.5/th)
	if err != nil {
		return nil, nil, err
	}
	for p := range vol.Data {
		vol.Data[p] += tex[p] * field[p]
	}
	// The scanner: in-plane blur (the reconstruction kernel), then noise
	// with a short correlation length, as CT noise has.
	noise, err := smoothNoise(ctx, workers, opt.Seed, streamNoise, n, nz, 0.6, 0)
	if err != nil {
		return nil, nil, err
	}
	kern := gaussKernel(sc.BlurSigma / d)
	sigma := float32(sc.NoiseSigma)
	err = parallel(ctx, workers, nz, func() func(k int) {
		tmp := make([]float32, n*n)
		return func(k int) {
			sl := vol.Data[k*n*n : (k+1)*n*n]
			blur2D(sl, tmp, n, n, kern)
			nz := noise[k*n*n : (k+1)*n*n]
			for p := range sl {
				v := sl[p] + sigma*nz[p]
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

// smoothNoise returns a field of unit standard deviation: white Gaussian
// noise blurred by sigma pixels in-plane and sigmaZ slices along z.
func smoothNoise(ctx context.Context, workers int, seed int64, stream uint64, n, nz int, sigma, sigmaZ float64) ([]float32, error) {
	f := make([]float32, n*n*nz)
	k := gaussKernel(sigma)
	err := parallel(ctx, workers, nz, func() func(int) {
		tmp := make([]float32, n*n)
		return func(s int) {
			r := rand.New(rand.NewPCG(uint64(seed), stream<<32|uint64(s)))
			sl := f[s*n*n : (s+1)*n*n]
			for p := range sl {
				sl[p] = float32(r.NormFloat64())
			}
			blur2D(sl, tmp, n, n, k)
		}
	})
	if err != nil {
		return nil, err
	}
	kz := gaussKernel(sigmaZ)
	if kz != nil && nz > 1 {
		// Along z: each column is an nz×1 image.
		col := make([]float32, nz)
		tmp := make([]float32, nz)
		for p := 0; p < n*n; p++ {
			for s := 0; s < nz; s++ {
				col[s] = f[s*n*n+p]
			}
			blur2D(col, tmp, nz, 1, kz)
			for s := 0; s < nz; s++ {
				f[s*n*n+p] = col[s]
			}
		}
	}
	// Blurring white noise divides its variance by the sum of the squared
	// kernel weights; undo that.
	v := sumSq(k) * sumSq(k) * sumSq(kz)
	scale := float32(1 / math.Sqrt(v))
	for p := range f {
		f[p] *= scale
	}
	return f, nil
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
