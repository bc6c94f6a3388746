// Package tools holds the annotation tools of the desktop app as state
// machines independent of any widget toolkit: brush, eraser, threshold
// brush, polygon (lasso), flood fill, the SAM box and SAM points (clicks
// that say "this too" or "not this", app.Session.Click). A view hands an
// Editor events in its own terms (press, drag and release at a point of a
// slice of a plane; a double-click; a key) and the Editor turns them into
// edits of an app.Session: strokes, which change the label volume in place
// and become one undo step each, or a box for SAM. The ui package routes
// Fyne's events here and draws what Overlay describes (the brush outline,
// the polygon, the box); the tests drive the same Editor without a window.
//
// # Invariants
//
//   - One gesture is one undo step: a brush stroke from press to release,
//     whichever slices and planes it crosses, a closed polygon, a fill.
//   - Where a tool writes is the session's masking rule (locked segments,
//     the overwrite mode; see app.Session.BeginStroke), never the tool's.
//   - Brush sizes are in mm, so that a brush covers the same anatomy on
//     every plane and scan; a brush covers at least the voxel under the
//     mouse.
//   - Positions are continuous display coordinates of a viewer.Slicer
//     (pixel (u, v) covers [u, u+1)×[v, v+1)), so the tools follow the
//     radiological convention of the views whatever the voxel order.
package tools
