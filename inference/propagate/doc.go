// Package propagate carries annotated slices through a volume: the Engine
// interface every propagation engine implements (Request in, a streamed
// SliceResult per decided slice with its confidence, a Result out), and
// the "sam" engine, which runs the bundled SAM slice to slice: the
// previous slice's box and low-resolution logits prompt the next, guarded
// against leaks by a growth limit, the organ's density, continuity with
// the previous slice and, when given, a U-Net's probabilities.
//
// # Invariants
//
//   - Anchors are never changed; between two anchors the chains meet, and
//     outward from the outermost ones a chain runs until a stop rule says
//     the structure has ended (or the range does).
//   - Engines honour cancellation promptly and are safe for concurrent
//     use.
//   - The label's value picks nothing but the window it is seen in, as the
//     encoder's manifest gives it; no threshold is tuned on it.
package propagate
