// Package ui is the desktop app's Fyne user interface: a main window with
// linked axial, coronal and sagittal views of one scan and a 3D view of
// its segments' surfaces (view3d.go), the display and overlay controls,
// menus, dialogs and the jobs bar, and the model tools:
// Segment, Refine with SAM (slice or volume), the box tool (B, then drag a
// box on the axial view) and the preview they produce, outlined in cyan
// under a banner until Enter accepts or Esc rejects it; the annotation
// tools' bar (toolbar.go: brush, eraser, threshold brush, polygon, flood
// fill, SAM box) and the segment list (segments.go); in dataset mode, the
// worklist panel left of the views and the Dataset menu (worklist.go), and
// Segment > Statistics… (stats.go). It is a thin layer
// over package app, which holds all state, and app/tools, whose Editor the
// views hand their gestures to; it reads no file format and runs no model
// itself.
//
// # Invariants
//
//   - Widgets are touched only on Fyne's thread: session notifications,
//     which arrive from any goroutine, go through fyne.Do.
//   - Each view owns only its zoom and pan; slice, crosshair, window and
//     overlay are the session's, so the three views always agree.
//   - Views draw through viewer.RenderViewport, whose radiological
//     convention (patient right on screen left, anterior up) holds whatever
//     the voxel order of the file.
//   - A model's result is shown only as a preview (outline and banner) until
//     the user accepts it; model actions are disabled, and the label beside
//     the jobs bar says why, when the runtime or the model is missing.
//   - Every key the window acts on is an entry of one table (Shortcuts,
//     keys.go), from which the help panel (F1) and the README's table are
//     made; a feature adds its keys with Shortcuts().Add. The table takes
//     keys as Fyne's GLFW driver delivers them (shortcuts.go): Ctrl+Z as
//     fyne.ShortcutUndo, Shift+P as a typed P with Shift held. Menus show
//     keys without binding them (menuKey).
//   - No entry runs while a dialog is open (Esc closes it) or a text field
//     has the keys; controls that are not for typing give the keys back
//     once used (focus.go). Dialogs open through showDialog.
//   - Messages go to the band under the tool bars (band.go), the status
//     line shows only the scan and what lies under the mouse; both keep
//     their height, so the views do not move.
//   - The 3D view draws the session's surfaces (app.Surfaces), which are
//     meshed on a goroutine of their own; it renders a frame only when the
//     surfaces, their colours or visibility, its camera, the slice planes
//     (the crosshair, while they are shown) or its size changed, and a
//     click on a surface moves the session's crosshair, which the slice
//     views follow.
//   - While painting, a view redraws only the screen rectangle showing the
//     voxels that changed (Session.DamageSince), in the last frame, and
//     draws exactly what a whole render would.
//   - Moving between dataset cases runs as a job of the session
//     (app.Work.Open); the panel asks the user (a stale lock, edits that
//     cannot be saved) and never decides for them.
//   - The package does not import fyne.io/fyne/v2/app: the main package
//     creates the Fyne app, and tests use fyne.io/fyne/v2/test without a
//     display, through harness_test.go, which runs fyne.Do and the events
//     as the GLFW driver does; scripts/gui_smoke.sh drives the real
//     binary, which writes its DebugState where POLYSEG_DEBUG_STATE says.
package ui
