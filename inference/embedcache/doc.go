// Package embedcache keeps what image encoders compute (SAM's slice
// embeddings, SAM 2's frame features) in memory and on disk, so that a
// slice costs the encoder once per machine rather than once per prompt,
// per session or per process.
//
// # Invariants
//
//   - A value is found under the key it was put with, and keys name what
//     the value is a function of (the callers hash the model, the window
//     and the pixels), so a cached value is always the one the encoder
//     would compute (to the precision the codec stores).
//   - Files are written atomically (internal/atomicfile) and start with
//     the cache's magic; a file that does not read back whole through the
//     codec is ignored and recomputed, never used.
//   - With WriteBehind, a value put is findable until its file is written,
//     whatever the memory bound has dropped, so no slice is encoded twice.
//   - Memory holds at most Options.MemoryBytes of values (or
//     MemoryEntries values), plus the few queued for the disk.
//   - The folder holds at most about Options.DiskBytes of value files:
//     past it, the least recently used (by modification time, which reads
//     refresh) are removed. Files of other extensions are never touched.
//   - Processes sharing the folder compute a key once: Claim takes a lock
//     file beside the value's (internal/lockfile) and the others wait for
//     the value, up to Options.ClaimWait. A claim whose process has ended,
//     or whose heartbeat is older than Options.ClaimStale, is taken over;
//     a claim is given up when its value's file is written or the
//     computation is abandoned.
package embedcache
