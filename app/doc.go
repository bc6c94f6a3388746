// Package app holds the state of one working session of the desktop app,
// independent of any widget toolkit: the open scan, its label layer, the
// crosshair shared by the three views, the display window, undo and redo of
// label edits, background jobs with progress and cancellation, autosave and
// export, and the models: U-Net segmentation, SAM refinement, SAM box
// prompts and SAM clicks (clicks.go), and propagation, whose results wait
// as a preview for the user to accept or reject. The ui package is a thin layer over it, and the headless command
// line and the tests drive it directly.
//
// # Invariants
//
//   - A Session's label volume, when there is one, lies on the scan's grid:
//     labels read from a file on another grid are resampled on the way in.
//   - Every change to label voxels goes through a Session method, under its
//     lock, and is recorded as one undo step holding only the voxels that
//     changed (their index, old and new value), never a copy of the volume.
//     A paint stroke (BeginStroke) writes its voxels in place as it goes
//     and builds its step as it goes; any other edit, an undo or a new scan
//     ends the stroke first, as its own step, and the stroke's next event
//     is refused with ErrStrokeEnded: painted voxels are never lost.
//   - Painting never writes a locked segment's voxels, and writes other
//     segments' only in the overwrite-others mode (segments.go).
//   - The voxel count of every label value is kept up to date by each edit,
//     so listing segments costs no pass over the volume.
//   - DamageSince tells a view which voxels the latest changes altered, when
//     they were label edits of known extent, so that it redraws only those.
//   - The cursor is always inside the scan's grid.
//   - Listeners are called after the lock is released, from whichever
//     goroutine made the change; a toolkit must hop to its own thread.
//   - A model's result never changes labels by itself: it becomes the
//     preview, which accepting merges as one undo step and rejecting
//     discards. A cancelled or failed job, or one whose scan was replaced
//     meanwhile, leaves no preview and the labels as they were.
//   - A preview changes only voxels of its own scope (a slice, a box, or the
//     volume) that are background or carry a value it proposes: labels the
//     user gave other structures are never overwritten.
//   - A slice's, a box's or clicks' preview, and a propagation's, hold only
//     the planes they propose something on (Proposal), never a label volume.
//   - SAM clicks (Click) correct the pending preview or the accepted labels
//     slice by slice: a clicked slice is decided whole, the pixel under
//     every click ends as the click said, and the clicks wait with the
//     preview, going with it when it is accepted or rejected. Clicks are
//     decoded one at a time in click order; an answer to fewer clicks than
//     the slice has by then is dropped.
//   - A propagation started while a preview of the same label waits (a
//     box's, clicks', a propagation's) starts from it: what that preview
//     proposes outside the slices the new run decides stays proposed.
//   - Label values decide nothing but where voxels are written: the U-Net
//     guards or anchors a segment only when it segments a structure of the
//     segment's name, and SAM's window is asked for in one place
//     (samWindow).
//   - "Doubtful" has one meaning (propagate.Doubtful with the engine's
//     DoubtBelow as the session's models are set): the strip, X, the
//     summary and the command line agree.
//   - Models load when first needed; a missing runtime library or model
//     makes only the operations needing it fail, with an error saying what
//     is missing (ErrNoModel, ErrNoRuntime), never scan viewing.
//   - Surfaces (surfaces.go), once started, hold a closed surface per
//     segment equal to mesh.Extract's on the labels (merged with the
//     pending preview as accepting it would merge them) once their
//     goroutine is idle; after an edit only the segments it changed are
//     meshed again, within their box grown by the edit's, on a copy made
//     under the read lock, so that no edit waits for the meshing.
//   - Autosave files are written atomically (temporary file in the same
//     folder, then rename), so a crash leaves either the old or the new file,
//     and are offered back only to a scan with the same content hash. They
//     go to the autosave folder (the user's state folder by default), one
//     per scan named by that hash, never beside the scan; the folder keeps
//     the newest few and none very old. An autosave carries the label
//     volume, its provenance (sidecar) and the propagation records (the
//     confidence strip), and restoring it brings all three back.
//   - A dataset case (Work, dataset.go) is written only through its lock
//     (dataset.CaseLock), and left only once its label edits are in the
//     dataset or the user chose to drop them: a lock taken over by someone
//     else, or a read-only folder, makes leaving fail with an UnsavedError
//     and keeps the case open, never a silent loss. The next case's lock is
//     taken and its files read before the open case is left, so a refused
//     or unreadable case leaves the user where they were. Autosaves of a
//     case go to the autosave folder, as all do, never into the dataset.
//   - A dataset's training (Work.Train, train.go) is a job of the dataset,
//     one at a time, run by package trainjob: the open case's edits are
//     saved first, the dataset is checked before the trainer starts, and
//     cancelling or closing the dataset stops the trainer's whole process
//     group, leaving no model folder. The model made, or on opening the
//     dataset its newest model, becomes the segmentation model
//     (Models.UseUNet); closing the dataset goes back to the default.
//   - The model's doubt about a case (doubt.go) is kept per case and model
//     (the model's sha256, the image's size and time) in the dataset's
//     polyseg/doubt/ folder, so a value is never that of another model or
//     another image.
//   - A case's editing time grows only with the user's activity: the time
//     from one edit or gesture to the next counts up to the idle limit
//     (DefaultIdle, a minute), so time away from the app is not counted.
//
// # Why one Session, and not a few smaller types
//
// Session has about 140 methods, kept in files by concern (session.go: the
// scan and the cursor; edit.go, paint.go, fill.go: label edits and undo;
// preview.go, propagate.go, clicks.go, segment.go: the models' results;
// autosave.go, io.go, dicomseg.go, dataset.go: files; segments.go: the
// segment list), behind one lock. Splitting it into an editor, a preview
// and a model front end was considered and not done, because nearly every
// operation crosses those lines under one invariant: accepting a preview
// or a click's answer is a label edit and an undo step; an undo must end a
// paint stroke and may find clicks waiting; a propagation starts from the
// pending preview and the accepted labels at once; an autosave must see
// labels, preview records and provenance of one moment. Several types
// would each need the others' locks, in an order every caller keeps, for
// the same consistency that one lock gives now. What was split out is what
// holds no part of that state: the tools' state machines (app/tools), the
// models' loading (models.go, one generic load-once), jobs (job.go), the
// surfaces' meshing goroutine (surfaces.go) and the robot (app/robot),
// which uses only Session's exported operations.
package app
