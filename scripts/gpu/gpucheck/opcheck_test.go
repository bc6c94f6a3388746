package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/internal/modeltest"
)

// Every one-operator graph is a valid model that the CPU provider runs and
// agrees with itself on: what the GPU machine runs them against.
func TestOpCasesRunOnTheCPU(t *testing.T) {
	modeltest.Runtime(t) // skips only when the library was never fetched
	if _, err := onnxrt.NewRuntime(onnxrt.Options{Provider: onnxrt.ProviderCPU}); err != nil {
		t.Fatal(err)
	}
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := opcheckOne(context.Background(), c.name, "cpu", "", &out); err != nil {
				t.Fatal(err)
			}
			var r opResult
			if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Outcome != "ok" {
				t.Errorf("%s: %s (%v)", c.name, out.String(), err)
			}
		})
	}
}
