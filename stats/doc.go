// Package stats measures each segment of a label volume on its scan: the
// voxel count, the volume in mL, the mean and standard deviation of the
// scan's values (HU for CT) inside it, and the axial slices it spans;
// MeshColumns adds the area and the maximum 3D diameter of its
// marching-cubes surface (package mesh).
//
// # Invariants
//
//   - The label volume lies on the scan's grid (within 1e-4 mm per affine
//     entry); another grid is refused, never resampled here.
//   - The volume is the voxel count times the volume of one voxel, the
//     absolute determinant of the affine's 3x3 part (mm³), over 1000.
//   - The standard deviation is the population's (NumPy's default, ddof
//     0), computed in two passes in float64, so that it does not lose
//     digits to a large mean.
//   - Axial slices are numbered as the app shows them: from 1, the most
//     inferior slice first, along the voxel axis closest to the patient's
//     long axis (viewer.Slicer), whatever the voxel order on disk. The
//     command line prints the same numbers.
//   - Only values present in the volume are reported, in increasing order;
//     0 is background and never reported.
//   - Columns a caller adds (Column) are computed per segment after the
//     built-in ones, in the order given.
package stats
