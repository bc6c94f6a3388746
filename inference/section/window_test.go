package section

import (
	"math"
	"testing"
)

func TestWindowed(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		x    float32
		want float64
	}{
		{"bottom", -160, 0},
		{"below", -1000, 0},
		{"middle", 40, 0.5},
		{"top", 240, 1},
		{"above", 3000, 1},
		{"NaN is air", nan, 0},
		{"+Inf", float32(math.Inf(1)), 1},
		{"-Inf", float32(math.Inf(-1)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Windowed(tt.x, -160, 400); got != tt.want {
				t.Errorf("Windowed(%v) = %v, want %v", tt.x, got, tt.want)
			}
		})
	}
}
