// Package inference runs the project's ONNX models headless: the PolyCL
// U-Net over whole volumes (UNet) and Segment Anything for box prompts and
// for refining coarse masks (SAM). It does not import the UI; the app and
// the command line call the same functions.
//
// # Runtime
//
// ONNX Runtime is a shared library loaded once per process: onnxruntime_go
// keeps its environment in package globals. NewRuntime therefore
// initialises it behind a sync.Once and later calls must name the same
// library; the environment is never torn down. Everything else lives in
// explicit values: a Runtime (library, execution provider, thread count),
// Sessions made from it (created once per model and reused; safe for
// concurrent Run), and the SAM and UNet runners that own their sessions.
// The execution provider actually used is recorded per session
// (Session.Provider) and per runtime (Runtime.Provider): asking for CUDA on
// a CPU-only library falls back to the CPU and says why.
//
// # Invariants
//
//   - A model never runs before its manifest's sha256 and ONNX signature
//     have been checked (Runtime.LoadModel).
//   - Every call that can take seconds takes a context, and cancelling it
//     terminates a running ONNX Runtime call (RunOptions.Terminate).
//   - 2D images given to models are axial slices in radiological
//     orientation (Slicer): row 0 anterior, column 0 the patient's right,
//     derived from the grid's affine, never from the file's voxel order.
//   - SAM embeddings are keyed by the sha256 of the encoder, the window
//     and the slice's pixels, so a cached embedding is always the one the
//     encoder would compute for that image; the disk cache is written
//     atomically and a damaged file is recomputed, never used.
//   - Refining a mask never changes voxels of other labels, and each
//     component keeps its coarse shape unless SAM's answer passes the
//     keep-or-replace rules (RefineOptions).
package inference
