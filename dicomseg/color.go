package dicomseg

import (
	"image/color"
	"math"
)

// Colours in a segmentation are CIELab (PS3.3 §C.10.7.1.1), scaled to
// 0..65535 as ICC profiles encode them: L* 0..100, a* and b* -128..127.
// The conversion from sRGB follows the one dcmqi uses (easyrgb.com's
// formulas: sRGB companding, the sRGB matrix, reference white D65), so that
// a colour table exported here and by dcmqi gives the same values.

// D65 reference white, 2° observer, Y normalised to 100.
const (
	whiteX = 95.047
	whiteY = 100.0
	whiteZ = 108.883
)

// CIELab returns the scaled CIELab value of an sRGB colour (alpha ignored).
func CIELab(c color.NRGBA) [3]uint16 {
	lin := func(v uint8) float64 {
		x := float64(v) / 255
		if x > 0.04045 {
			return math.Pow((x+0.055)/1.055, 2.4) * 100
		}
		return x / 12.92 * 100
	}
	r, g, b := lin(c.R), lin(c.G), lin(c.B)
	x := r*0.4124 + g*0.3576 + b*0.1805
	y := r*0.2126 + g*0.7152 + b*0.0722
	z := r*0.0193 + g*0.1192 + b*0.9505
	f := func(t float64) float64 {
		if t > 0.008856 {
			return math.Cbrt(t)
		}
		return 7.787*t + 16.0/116
	}
	fx, fy, fz := f(x/whiteX), f(y/whiteY), f(z/whiteZ)
	l, a, bb := 116*fy-16, 500*(fx-fy), 200*(fy-fz)
	return [3]uint16{scale(l * 65535 / 100), scale((a + 128) * 65535 / 255), scale((bb + 128) * 65535 / 255)}
}

func scale(v float64) uint16 { return uint16(math.Round(math.Max(0, math.Min(65535, v)))) }

// SRGB returns the sRGB colour of a scaled CIELab value, opaque: the
// inverse of CIELab, clamped to the sRGB gamut.
func SRGB(lab [3]uint16) color.NRGBA {
	l := float64(lab[0]) / 65535 * 100
	a := float64(lab[1])/65535*255 - 128
	b := float64(lab[2])/65535*255 - 128
	fy := (l + 16) / 116
	fx, fz := a/500+fy, fy-b/200
	inv := func(t float64) float64 {
		if c := t * t * t; c > 0.008856 {
			return c
		}
		return (t - 16.0/116) / 7.787
	}
	x, y, z := inv(fx)*whiteX/100, inv(fy)*whiteY/100, inv(fz)*whiteZ/100
	r := x*3.2406 + y*-1.5372 + z*-0.4986
	g := x*-0.9689 + y*1.8758 + z*0.0415
	bl := x*0.0557 + y*-0.2040 + z*1.0570
	gamma := func(v float64) uint8 {
		if v > 0.0031308 {
			v = 1.055*math.Pow(v, 1/2.4) - 0.055
		} else {
			v *= 12.92
		}
		return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255))
	}
	return color.NRGBA{R: gamma(r), G: gamma(g), B: gamma(bl), A: 255}
}
