// Package sam runs Segment Anything: an image encoder (the bundled
// TinyViT, MobileSAM-class) that turns a slice into an embedding, and the
// prompt decoder that turns an embedding plus a box, clicks and a mask
// prompt into a mask (Model.Decode), with SAM's own IoU estimate and
// stability. SegmentBox is the "draw a box" tool's call.
//
// # Invariants
//
//   - Embeddings are keyed by the sha256 of the encoder, the window and the
//     slice's pixels, so a cached embedding is always the one the encoder
//     would compute for that image (package embedcache keeps them).
//   - Concurrent requests for the same slice share one encode; a
//     background encode (EmbedBackground) waits while foreground calls run
//     and gives way to one that starts while it encodes, so the user never
//     waits behind work done ahead of need.
//   - Slice images are radiological (package section); a prediction's mask
//     is on the slice image, at the slice's size.
package sam
