package unet

import "testing"

func TestBatchSize(t *testing.T) {
	tests := []struct {
		name   string
		asked  int
		fixed  int64
		slices int
		want   int
	}{
		{"asked", 4, -1, 30, 4},
		{"default", 0, -1, 30, 8},
		{"negative is the default", -3, -1, 30, 8},
		{"no more than the slices", 100000, -1, 30, 30},
		{"default, fewer slices", 0, -1, 3, 3},
		{"fixed by the model", 100000, 2, 30, 2},
		{"fixed beyond the slices (padded)", 0, 16, 3, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := batchSize(tt.asked, tt.fixed, tt.slices); got != tt.want {
				t.Errorf("batchSize(%d, %d, %d) = %d, want %d", tt.asked, tt.fixed, tt.slices, got, tt.want)
			}
		})
	}
}
