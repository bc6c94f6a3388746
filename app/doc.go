// Package app holds the state of one working session of the desktop app,
// independent of any widget toolkit: the open scan, its label layer, the
// crosshair shared by the three views, the display window, undo and redo of
// label edits, background jobs with progress and cancellation, autosave and
// export. The ui package is a thin layer over it, and the headless command
// line and the tests drive it directly.
//
// # Invariants
//
//   - A Session's label volume, when there is one, lies on the scan's grid:
//     labels read from a file on another grid are resampled on the way in.
//   - Every change to label voxels goes through a Session method, under its
//     lock, and is recorded as one undo step holding only the voxels that
//     changed (their index, old and new value), never a copy of the volume.
//   - The cursor is always inside the scan's grid.
//   - Listeners are called after the lock is released, from whichever
//     goroutine made the change; a toolkit must hop to its own thread.
//   - Autosave files are written atomically (temporary file in the same
//     folder, then rename), so a crash leaves either the old or the new file,
//     and are offered back only to a scan with the same content hash.
package app
