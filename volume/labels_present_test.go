package volume

import (
	"slices"
	"testing"
)

func TestLabelsPresent(t *testing.T) {
	for _, tt := range []struct {
		data []uint16
		want []uint16
	}{
		{[]uint16{0, 0}, nil},
		{[]uint16{5, 0, 1, 5, 65535}, []uint16{1, 5, 65535}},
	} {
		l := &Labels{Data: tt.data}
		if got := l.Present(); !slices.Equal(got, tt.want) {
			t.Errorf("Present of %v = %v, want %v", tt.data, got, tt.want)
		}
	}
}
