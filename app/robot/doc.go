// Package robot simulates an annotator working through the app, to count
// the interactions a correct organ takes (the number interactive
// segmentation benchmarks compare: RadioActive, arXiv 2411.07885;
// nnInteractive, arXiv 2503.08373). SAM runs the SAM robot: a box on the
// reference organ's largest axial slice, propagated, then one click per
// interaction on the slice with the most wrong voxels (positive at the
// point deepest inside the largest missed region, or negative inside the
// largest wrongly added one), re-decoded and propagated again. Manual runs
// the baseline a person without SAM has: one traced slice per interaction
// and the app's fill between slices.
//
// # Invariants
//
//   - Every change to the labels goes through app.Session's own
//     operations (BoxPrompt, Click, Propagate, AcceptPreview, strokes,
//     FillBetween), the ones the UI calls: the robot measures the app,
//     not a shortcut around it.
//   - The reference is read only to decide where to act and to score;
//     the app never sees it.
//   - Dice is 3D on the scan's grid, for the one label (evaluation.md).
package robot
