package phantom

import (
	"fmt"
	"math"
	"strings"
)

// Phase is the contrast phase of an acquisition.
type Phase int

const (
	// NonContrast is a scan without intravenous contrast.
	NonContrast Phase = iota
	// PortalVenous is a scan about 70 s after an intravenous contrast
	// injection: liver and spleen enhance by 60-70 HU, the kidneys strongly,
	// the vessels to 150-200 HU.
	PortalVenous
)

// String returns the phase's name as written in dataset records.
func (p Phase) String() string {
	switch p {
	case NonContrast:
		return "non-contrast"
	case PortalVenous:
		return "portal-venous"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Scanner holds the acquisition settings that make one imaging domain. Slices
// are contiguous: the slice spacing equals the slice thickness.
type Scanner struct {
	// Name identifies the preset, "A" or "B", or is empty for custom settings.
	Name string
	// Matrix is the number of pixels along each in-plane axis.
	Matrix int
	// FOV is the in-plane field of view in mm; the pixel spacing is FOV/Matrix.
	FOV float64
	// Slices is the number of axial slices.
	Slices int
	// SliceThickness in mm: each slice averages the anatomy over this depth.
	SliceThickness float64
	// NoiseSigma is the standard deviation of the quantum noise in HU, as
	// measured in a uniform region.
	NoiseSigma float64
	// BlurSigma is the in-plane point-spread function's Gaussian sigma in mm
	// (the reconstruction kernel's sharpness).
	BlurSigma float64
	// Phase is the contrast phase.
	Phase Phase
}

// PixelSpacing returns the in-plane pixel size in mm.
func (s Scanner) PixelSpacing() float64 { return s.FOV / float64(s.Matrix) }

// Limits on scanner settings: beyond them a phantom is either meaningless or
// too large for the memory of a desktop.
const (
	maxMatrix = 1024
	maxSlices = 1024
	// maxVoxels keeps a phantom (HU and labels, 6 bytes a voxel) under
	// about 1.6 GB.
	maxVoxels = 1 << 28
)

// Validate reports the first setting that cannot make a scan.
func (s Scanner) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case s.Matrix < 16 || s.Matrix > maxMatrix:
		return fmt.Errorf("matrix %d outside [16, %d]", s.Matrix, maxMatrix)
	case s.Slices < 1 || s.Slices > maxSlices:
		return fmt.Errorf("slice count %d outside [1, %d]", s.Slices, maxSlices)
	case int64(s.Matrix)*int64(s.Matrix)*int64(s.Slices) > maxVoxels:
		return fmt.Errorf("%dx%dx%d voxels exceed the limit of %d", s.Matrix, s.Matrix, s.Slices, maxVoxels)
	case bad(s.FOV) || s.FOV < 100 || s.FOV > 1000:
		return fmt.Errorf("field of view %g mm outside [100, 1000]", s.FOV)
	case bad(s.SliceThickness) || s.SliceThickness < 0.5 || s.SliceThickness > 20:
		return fmt.Errorf("slice thickness %g mm outside [0.5, 20]", s.SliceThickness)
	case bad(s.NoiseSigma) || s.NoiseSigma < 0 || s.NoiseSigma > 500:
		return fmt.Errorf("noise sigma %g HU outside [0, 500]", s.NoiseSigma)
	case bad(s.BlurSigma) || s.BlurSigma < 0 || s.BlurSigma > 10:
		return fmt.Errorf("blur sigma %g mm outside [0, 10]", s.BlurSigma)
	case s.Phase != NonContrast && s.Phase != PortalVenous:
		return fmt.Errorf("unknown contrast phase %d", int(s.Phase))
	}
	return nil
}

// ScannerA is domain A: thin slices, a sharp kernel, low noise, no
// contrast, like patient A of the real fixtures.
func ScannerA() Scanner {
	return Scanner{
		Name: "A", Matrix: 256, FOV: 400, Slices: 64, SliceThickness: 3,
		NoiseSigma: 12, BlurSigma: 0.7, Phase: NonContrast,
	}
}

// ScannerB is domain B: thicker slices, a larger field of view (patient B's
// is 500 mm), a softer kernel, more noise and portal-venous contrast.
func ScannerB() Scanner {
	return Scanner{
		Name: "B", Matrix: 256, FOV: 480, Slices: 64, SliceThickness: 5,
		NoiseSigma: 22, BlurSigma: 1.2, Phase: PortalVenous,
	}
}

// Preset returns the scanner preset with the given name, "A" or "B"
// (case-insensitive).
func Preset(name string) (Scanner, error) {
	switch strings.ToUpper(name) {
	case "A":
		return ScannerA(), nil
	case "B":
		return ScannerB(), nil
	}
	return Scanner{}, fmt.Errorf("unknown scanner preset %q (want A or B)", name)
}
