// Package embedcache keeps what image encoders compute (SAM's slice
// embeddings, SAM 2's frame features) in memory and on disk, so that a
// slice costs the encoder once per machine rather than once per prompt or
// per session.
//
// # Invariants
//
//   - A value is found under the key it was put with, and keys name what
//     the value is a function of (the callers hash the model, the window
//     and the pixels), so a cached value is always the one the encoder
//     would compute.
//   - Files are written atomically (internal/atomicfile) and start with
//     the cache's magic; a file that does not read back whole through the
//     codec is ignored and recomputed, never used.
//   - With WriteBehind, a value put is findable until its file is written,
//     whatever the memory bound has dropped, so no slice is encoded twice.
package embedcache
