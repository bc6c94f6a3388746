package main

import "testing"

func TestGPUPrepareUsage(t *testing.T) {
	for _, args := range [][]string{
		{"gpu-prepare", "extra"},
		{"gpu-prepare", "--strategy", "concat"},
		{"gpu-prepare", "--threads", "-2"},
	} {
		if code, _, errs := runVolumeCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d (%s), want 2", args, code, errs)
		}
	}
}
