package main

import "testing"

func TestQuantizeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"quantize", "extra"},
		{"quantize", "--threads", "-2"},
		{"quantize", "--bits", "4"},
	} {
		if code, _, errs := runVolumeCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d (%s), want 2", args, code, errs)
		}
	}
}
