// Package onnxrt loads ONNX Runtime and runs models on it: the shared
// library, the execution provider sessions get (CUDA through ONNX
// Runtime's plugin provider, else the CPU, with the reason), sessions
// made from manifests, and the rewrite of models for the CUDA plugin
// (PrepareCUDA). The model runners (sam, sam2, unet) are built on it.
//
// ONNX Runtime is a shared library loaded once per process: onnxruntime_go
// keeps its environment in package globals. NewRuntime therefore
// initialises it behind a lock and later calls must name the same
// library; the environment is never torn down. Everything else lives in
// explicit values: a Runtime (library, execution provider, thread count)
// and Sessions made from it (created once per model and reused; safe for
// concurrent Run).
//
// # Invariants
//
//   - A model never runs before its manifest's sha256 and ONNX signature
//     have been checked (Runtime.LoadModel).
//   - Cancelling the context of Session.Run terminates the ONNX Runtime
//     call in progress (RunOptions.Terminate).
//   - The execution provider actually used is recorded per session
//     (Session.Provider, Session.Placement) and per runtime
//     (Runtime.Provider): asking for CUDA where it cannot run falls back to
//     the CPU and says why.
//   - On the CUDA plugin a model holding an operator it crashes on (Slice)
//     never runs as it is: its variant made by PrepareCUDA runs, or the
//     CPU.
package onnxrt
