package section

import (
	"testing"
)

func TestComponents2D(t *testing.T) {
	tests := []struct {
		name string
		m    *Mask
		want int
	}{
		{"empty", MaskOf("...", "..."), 0},
		{"diagonal touch is one", MaskOf("#..", ".#.", "..#"), 1},
		{"two blobs", MaskOf("##..#", "##..#"), 2},
		{"ring", MaskOf("###", "#.#", "###"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, n := Components(tc.m); n != tc.want {
				t.Errorf("%d components, want %d", n, tc.want)
			}
		})
	}
}

func TestKeepLargest3D(t *testing.T) {
	d := [3]int{4, 3, 2}
	on := make([]bool, 24)
	set := func(i, j, k int) { on[i+4*(j+3*k)] = true }
	// Component 1: three voxels in a column through both slices and j;
	// component 2: one voxel only diagonally adjacent (not 6-connected).
	set(0, 0, 0)
	set(0, 0, 1)
	set(0, 1, 1)
	set(1, 2, 1)
	if removed := KeepLargest3D(on, d); removed != 1 {
		t.Fatalf("removed %d voxels, want 1", removed)
	}
	if on[1+4*(2+3*1)] || !on[0] || !on[0+4*(0+3*1)] || !on[0+4*(1+3*1)] {
		t.Errorf("wrong component kept: %v", on)
	}
}

func TestLargest(t *testing.T) {
	for _, tt := range []struct {
		name string
		lab  []int32
		n    int
		id   int32
		size int
	}{
		{"none", []int32{0, 0}, 0, 0, 0},
		{"one", []int32{0, 1, 1}, 1, 1, 2},
		{"second larger", []int32{1, 0, 2, 2, 2, 0, 1}, 2, 2, 3},
		{"tie keeps the lowest id", []int32{1, 1, 0, 2, 2}, 2, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if id, size := Largest(tt.lab, tt.n); id != tt.id || size != tt.size {
				t.Errorf("Largest = %d, %d; want %d, %d", id, size, tt.id, tt.size)
			}
		})
	}
}
