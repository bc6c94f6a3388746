// Package metrics compares a predicted binary mask with a reference mask in
// 3D on one voxel grid, as docs/evaluation.md defines the numbers: Dice,
// HD95 and ASSD in millimetres (voxel spacing, surface distances measured
// both ways), and volumes in mL with the relative volume error. Compare
// takes one pair of binary masks; CompareLabels a pair of label volumes,
// every label in one pass over the voxels; Summarize the mean ± std over
// labels.
//
// # Invariants
//
//   - Dice of two empty masks is 1 and the result says BothEmpty so reports
//     can say so; Dice with exactly one empty mask is 0.
//   - When exactly one mask is empty HD95 and ASSD are undefined: they are
//     NaN, Defined is false and Failure reports true. They are never 0 and
//     never silently dropped: Summarize counts such rows as failures.
//   - Distances are exact Euclidean distances between surface voxel centres
//     (a separable exact distance transform with anisotropic spacing), not
//     chamfer approximations. The surface of a mask is its voxels with a
//     6-neighbour outside the mask or outside the grid (medpy's default
//     connectivity). A voxel of one mask inside the other is at the
//     distance to the other's surface, not at 0.
//   - HD95 is the 95th percentile, interpolated linearly as NumPy's
//     default, of the pooled distances of both directions (P's surface to
//     R's and R's to P's), as medpy's hd95. ASSD is the mean of the same
//     pooled set (the average symmetric surface distance of the SLIVER07
//     liver challenge, Heimann et al. 2009); medpy's assd averages the two
//     directed means instead and differs when the surfaces differ in size.
//   - Distances are computed over the bounding box of the two masks only:
//     every surface voxel lies in it, so the result is exact, and the cost
//     follows the organ, not the scan (a liver in a 512×512×300 scan takes
//     about a second, docs/benchmarks.md).
//   - Spacing is the length of each voxel axis; the axes are taken to be
//     orthogonal, as they are in every CT grid but a gantry-tilted one.
package metrics
