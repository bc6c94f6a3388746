package inference

import (
	"sync"
	"testing"
)

const realData = "../../shared/data/real/totalsegmentator"

// testRuntime returns the process's Runtime, skipping the test when the
// library has not been fetched (scripts/fetch-runtime.sh).
func testRuntime(t testing.TB) *Runtime {
	t.Helper()
	rtOnce.Do(func() { rtShared, rtErr = NewRuntime(Options{}) })
	if rtErr != nil {
		t.Skipf("ONNX Runtime unavailable (run scripts/fetch-runtime.sh): %v", rtErr)
	}
	return rtShared
}

var (
	rtOnce   sync.Once
	rtShared *Runtime
	rtErr    error

	samOnce   sync.Once
	samShared *SAM
	samErr    error
)

// testSAM returns the bundled SAM, sharing the embedding cache with every
// other run on this machine so only new slices cost the encoder.
func testSAM(t testing.TB) *SAM {
	t.Helper()
	rt := testRuntime(t)
	samOnce.Do(func() { samShared, samErr = rt.LoadDefaultSAM(SAMOptions{}) })
	if samErr != nil {
		t.Skipf("SAM weights unavailable (run scripts/fetch-runtime.sh): %v", samErr)
	}
	return samShared
}

func dice2D(a, b *Mask2D) float64 {
	inter, sa, sb := 0, 0, 0
	for i := range a.Data {
		if a.Data[i] {
			sa++
			if b.Data[i] {
				inter++
			}
		}
		if b.Data[i] {
			sb++
		}
	}
	if sa+sb == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(sa+sb)
}
