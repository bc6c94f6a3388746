// Package viewer turns a slice of a CT volume, in any of the three
// orthogonal planes, plus a label overlay into an image: slicing in the
// radiological convention, window/level, colour overlays (filled or
// outlined), and zoom/pan into a target of any size. It knows nothing of
// Fyne or ONNX; the UI draws the images it makes.
//
// # Display convention
//
// Slices are shown as radiologists read them, the way 3D Slicer and
// ITK-SNAP show them, whatever the order of the voxels in the file. World
// coordinates are RAS+ (x towards the patient's Right, y Anterior,
// z Superior; see package volume). A display position is (slice, u, v): u is
// the column, 0 at the left of the screen; v the row, 0 at the top.
//
//	plane     u = 0 .. w-1 (left to right)   v = 0 .. h-1 (top to bottom)   slice 0 .. n-1
//	axial     patient Right -> Left          Anterior -> Posterior          Inferior -> Superior
//	coronal   patient Right -> Left          Superior -> Inferior           Posterior -> Anterior
//	sagittal  Anterior -> Posterior          Superior -> Inferior           Left -> Right
//
// So on an axial or coronal slice the patient's right is on the screen's
// left, as if facing the patient (axial: seen from the feet); a sagittal
// slice shows the face on the left. Plane.Edges gives the letters for the
// four edges.
//
// Which voxel axis runs along u, v and the slice direction, and whether it
// is reversed, comes from volume.Affine.Axes: for each world axis, the voxel
// axis closest to it and its sign. Volumes stored RAS, LPS, LAS, or with
// their axes permuted therefore look identical. An oblique grid (gantry
// tilt) is shown as its voxel planes nearest to the anatomical ones, without
// interpolation; positions read from it (Slicer.WorldAt) are exact.
//
// # Pixels and sampling
//
// Render draws one pixel per voxel; Slicer.PixelSpacing gives the pixel's
// size in mm across and down, which may differ (the aspect ratio to show it
// with). RenderViewport samples into a target of any size by nearest
// neighbour, keeping the physical aspect ratio (Viewport). Grey levels come
// from a Window; outside the slice the target is black.
//
// Code that walks a slice itself (statistics, painting a brush stroke) uses
// Slicer.Steps: pixel (u, v) of a slice is Data[origin + u*du + v*dv] in
// both the scan and its label volume, with no per-pixel affine.
//
// # Status bar and crosshair
//
// ProbeAt reads what lies under a pixel (voxel, RAS position, HU, label)
// and Probe.String formats it; Slicer.Orientation and Plane.Edges name the
// directions. DrawCrosshair draws the crosshair at voxel (i, j, k) in each
// view through Viewport.SliceToScreen(u+0.5, v+0.5), with (slice, u, v)
// from Slicer.Locate(i, j, k); DrawOutline draws a mask's boundary (a
// model's preview) one screen pixel wide over a rendered slice. Both draw
// into the image Render made, and only inside the rectangle asked for, so
// that a view redrawn in part matches one drawn whole.
//
// # Overlay
//
// A label overlay must be on the scan's grid (within GridTolerance);
// Render refuses another grid rather than draw it misplaced. Label 0 is
// background and never drawn. A label colour with alpha a drawn at overlay
// opacity o over grey level g gives g*(1-o*a/255) + c*o*a/255 per channel,
// in 8-bit fixed point (within one level of the exact value).
//
// # Concurrency
//
// Slicer, Window, Viewport and Overlay are plain values; rendering only
// reads the volume, the labels and the colour table, so several slices may
// be rendered at once as long as nothing writes to them meanwhile. Render
// itself splits large images over GOMAXPROCS goroutines.
package viewer
