// Package metrics compares a predicted binary mask with a reference mask in
// 3D on one voxel grid, as docs/evaluation.md defines the numbers: Dice,
// HD95 and ASSD in millimetres (voxel spacing, surface distances measured
// both ways), and volumes in mL.
//
// # Invariants
//
//   - Dice of two empty masks is 1 and Compare sets BothEmpty so reports can
//     say so; Dice with exactly one empty mask is 0.
//   - When exactly one mask is empty HD95 and ASSD are undefined: they are
//     NaN and Defined is false. They are never 0 and never silently dropped:
//     a caller averaging them must count such a case as a failure.
//   - Distances are exact Euclidean distances between surface voxel centres
//     (a separable exact distance transform with anisotropic spacing), not
//     chamfer approximations. The surface of a mask is its voxels with a
//     6-neighbour outside the mask or outside the grid.
//   - HD95 is the 95th percentile of the pooled distances of both
//     directions (P's surface to R's and R's to P's), as medpy's hd95; ASSD is
//     the mean of the same pooled set.
package metrics
