// Package ui is the desktop app's Fyne user interface: a main window with
// linked axial, coronal and sagittal views of one scan, the display and
// overlay controls, menus, dialogs and the jobs bar. It is a thin layer over
// package app, which holds all state; it reads no file format and runs no
// model itself.
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
//   - The package does not import fyne.io/fyne/v2/app: the main package
//     creates the Fyne app, and tests use fyne.io/fyne/v2/test without a
//     display.
package ui
