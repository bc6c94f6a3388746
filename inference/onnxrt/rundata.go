package onnxrt

import (
	"context"

	ort "github.com/yalue/onnxruntime_go"
)

// RunData runs a serialised model once on the CPU with the runtime's
// threads: for checking a rewritten model against its source before it is
// written (PrepareCUDA, sam.Quantize). Nil outputs are allocated by ONNX
// Runtime and must be destroyed by the caller.
func (r *Runtime) RunData(ctx context.Context, data []byte, in, out []string, inputs, outputs []ort.Value) error {
	return r.runData(ctx, data, in, out, inputs, outputs)
}
