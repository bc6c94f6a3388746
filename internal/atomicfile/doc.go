// Package atomicfile writes files so that a reader sees either the old file
// or the complete new one, never a partial write.
//
// Invariants: the data goes to a temporary file in the destination's own
// directory (so the final rename never crosses file systems), which is
// flushed and synced before it is renamed over the destination; on every
// error path the temporary file is closed and removed and any previous file
// at the destination is left untouched.
package atomicfile
