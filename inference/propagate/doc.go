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
//     encoder's manifest gives it; no threshold is tuned on it. Every tuned
//     constant is a SAMOptions field with its reason; the zero SAMOptions
//     is not the default (DefaultSAMOptions is), and Propagate refuses
//     options SAMOptions.Check refuses.
//   - Run again over slices it decided before (Request.Previous), the
//     "sam" engine carries only what the anchors' correction changed, near
//     where it changed it, and leaves undecided the slices where the
//     change has died out.
//   - Doubtful is the one meaning of "doubtful" every user of the results
//     shares.
package propagate
