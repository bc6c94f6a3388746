// Package section cuts 2D images out of a volume and holds the masks the
// models work on: Slicer (a volume's axial slices as images), Mask and Box
// on a slice image, connected components, morphology in millimetres, and
// the windowing and resizing of images for the models.
//
// # Invariants
//
//   - Slice images are in radiological orientation, derived from the
//     grid's affine and never from the file's voxel order: row 0 is the
//     most anterior, column 0 the patient's right. Slicer.Voxel and
//     Slicer.Pixel convert between the two, exactly.
//   - Slicer.WriteMask changes only voxels that are empty or of the value
//     written: other labels are never overwritten.
//   - Windowing maps NaN ("no data" in float NIfTI files) to the bottom of
//     the window, like air, so nothing downstream sees a NaN.
package section
