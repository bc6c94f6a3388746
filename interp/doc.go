// Package interp fills the slices between annotated slices of a label by
// shape-based interpolation: each annotated slice's mask becomes a signed
// Euclidean distance map in millimetres, the maps of two neighbouring
// annotated slices are blended linearly along the slice axis, and a pixel
// of a slice between them is inside where the blend is negative. This is
// the "interpolate between slices" of ITK-SNAP and 3D Slicer (Herman, Zheng
// and Bucholtz, "Shape-based interpolation", IEEE CG&A 1992; Raya and
// Udupa, IEEE TMI 1990).
//
// Method Cubic interpolates each pixel's signed distance through the
// annotated slices on either side of a gap as well, with a monotone cubic
// (as SciPy's PchipInterpolator): on patient A from every 10th slice it
// lifts the kidneys from 0.853 / 0.773 to 0.909 / 0.821 Dice. The plain
// fill of the app and of `polyseg interpolate` is Linear, the method
// users of other tools know; the image-guided fill starts from Cubic.
//
// The distance transform is exact (Felzenszwalb and Huttenlocher,
// "Distance Transforms of Sampled Functions", Theory of Computing 8, 2012),
// with anisotropic pixel spacing, so the result does not depend on whether
// a scan's pixels are square.
//
// # Invariants
//
//   - Annotated slices are the slices where the label has voxels; Fill
//     never changes them, and never writes beyond the outermost ones (the
//     label's ends are not extrapolated).
//   - Voxels of other labels are never overwritten: a pixel the
//     interpolation puts inside the label but another label holds stays
//     that label's, and is counted as blocked.
//   - All the label's components on a slice are one shape: they are not
//     matched between slices. Parts that overlap in the slice direction
//     join and morph into each other; a part with nothing over or under it
//     on the other annotated slice shrinks away towards that slice.
//
// The package knows nothing of Fyne or ONNX Runtime; the image-guided mode,
// which lets SAM correct the interpolated slices, is in package inference.
package interp
