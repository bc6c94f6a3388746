package onnxrt

import (
	"strings"
	"testing"
)

// TestNewRuntimeRefusesTooManyThreads checks the bound before anything is
// loaded, so the refusal does not need the library.
func TestNewRuntimeRefusesTooManyThreads(t *testing.T) {
	for _, n := range []int{MaxThreads + 1, 100000} {
		if _, err := NewRuntime(Options{Threads: n, Library: "/nonexistent/libonnxruntime.so"}); err == nil || !strings.Contains(err.Error(), "threads") {
			t.Errorf("NewRuntime with %d threads: %v, want a refusal naming the thread count", n, err)
		}
	}
}
