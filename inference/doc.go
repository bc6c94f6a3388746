// Package inference is the map of the packages that run the project's
// ONNX models headless; it holds no code of its own. Each sub-package has
// one job, and imports only those above it in this list:
//
//   - section: 2D cuts of a volume (Slicer, in radiological orientation),
//     masks and boxes on them, morphology, windowing and resizing. No
//     models.
//   - onnxrt: the ONNX Runtime library, execution providers (CPU, CUDA
//     through the plugin provider, with fallback and its reason), sessions
//     checked against their manifests, the CUDA rewrite of models, and the
//     Progress interface every long call reports through.
//   - embedcache: encoder outputs kept in memory and on disk.
//   - sam: Segment Anything (encoder, prompt decoder, the embedding cache,
//     the encoder's schedule of foreground and background work).
//   - unet: the PolyCL U-Net over whole volumes, and its probabilities as
//     a prior for propagation.
//   - propagate: the Engine interface that carries annotated slices
//     through a volume, and the "sam" engine (SAM slice to slice, with
//     leak guards and a confidence per slice).
//   - sam2: SAM 2.1 run as a video tracker, the "sam2" engine.
//   - refine: SAM correcting masks: a coarse label volume (Volume, Slice)
//     and a shape interpolated between annotated slices (FillBetween).
//
// None of them imports the UI; the app and the command line call the same
// functions. internal/archtest enforces the direction.
package inference
