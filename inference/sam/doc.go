// Package sam runs Segment Anything: an image encoder (the bundled
// TinyViT, MobileSAM-class, or its int8 variant made by Quantize) that
// turns a slice into an embedding, and the prompt decoder that turns an
// embedding plus a box, clicks and a mask prompt into a mask
// (Model.Decode), with SAM's own IoU estimate and stability. SegmentBox is
// the "draw a box" tool's call.
//
// # Invariants
//
//   - Embeddings are keyed by the sha256 of the encoder, the window and the
//     slice's pixels, so a cached embedding is always the one the encoder
//     would compute for that image (package embedcache keeps them).
//   - The window is the caller's choice (DefaultWindow, the encoder
//     manifest's, unless the user gave a segment another by its name);
//     nothing here depends on a label value.
//   - Embeddings are rounded to half precision whether they are kept on
//     disk or not (unless Options.FullPrecision), so a prompt's answer is
//     the same from a fresh embedding and from a cached one.
//   - Concurrent requests for the same slice share one encode, and
//     processes sharing the disk cache encode a slice once (embedcache's
//     claims); a background encode (EmbedBackground) waits while
//     foreground calls run and gives way to one that starts while it
//     encodes, so the user never waits behind work done ahead of need.
//   - Memory holds at most Options.MemoryBytes of embeddings, as the
//     half-precision bits they are rounded to (unless FullPrecision), and
//     every caller gets float32 values; the disk cache at most about
//     Options.DiskBytes.
//   - Slice images are radiological (package section); a prediction's mask
//     is on the slice image, at the slice's size.
package sam
