package ui

import (
	"math"
	"testing"

	"github.com/polyseg/polyseg/app"
)

// The strip paints each slice by what the propagation said of it; a slice
// flagged past a chain's end, which nothing decided, is drawn hollow: a
// doubtful rim around the colour of an undecided slice.
func TestConfidenceStripColours(t *testing.T) {
	s := newConfidenceStrip()
	conf := []app.SliceConfidence{
		{Slice: 0, Confidence: math.NaN()},
		{Slice: 1, Confidence: 0, Doubtful: true, Unchecked: true, Reason: "past the end"},
		{Slice: 2, Confidence: 0.05, Doubtful: true},
		{Slice: 3, Confidence: 1, Anchor: true},
		{Slice: 4, Confidence: 0.95},
	}
	s.Set(conf, -1, 0.1)
	const w, h = 12, 50 // 10 px a slice, the last slice at the top
	img := s.draw(w, h)
	at := func(slice, x int) any {
		y := (len(conf)-1-slice)*h/len(conf) + h/len(conf)/2
		return img.At(x, y)
	}
	for _, tc := range []struct {
		slice, x int
		want     any
	}{
		{0, w / 2, stripEmpty},
		{1, 1, stripDoubtful},
		{1, w / 2, stripEmpty},
		{1, w - 2, stripDoubtful},
		{2, w / 2, stripDoubtful},
		{3, w / 2, stripAnchor},
		{4, w / 2, stripTrusted},
	} {
		if got := at(tc.slice, tc.x); got != tc.want {
			t.Errorf("slice %d, x %d: %v, want %v", tc.slice, tc.x, got, tc.want)
		}
	}
}
