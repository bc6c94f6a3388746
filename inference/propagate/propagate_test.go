package propagate

import (
	"math"
	"testing"
)

// Doubtful's one meaning: below the threshold and not an anchor, or
// flagged past a chain's end whatever the threshold; NaN is not doubtful.
func TestDoubtful(t *testing.T) {
	for _, tc := range []struct {
		conf              float64
		anchor, unchecked bool
		want              bool
	}{
		{0.05, false, false, true},
		{0.1, false, false, false},
		{0.05, true, false, false},
		{0, false, true, true},
		{0.9, false, true, true},
		{math.NaN(), false, false, false},
	} {
		if got := Doubtful(tc.conf, tc.anchor, tc.unchecked, 0.1); got != tc.want {
			t.Errorf("Doubtful(%v, anchor %v, unchecked %v, 0.1) = %v, want %v", tc.conf, tc.anchor, tc.unchecked, got, tc.want)
		}
	}
}
