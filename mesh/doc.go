// Package mesh makes closed triangle surfaces of the segments of a label
// volume, smooths and decimates them, measures them (volume, surface area,
// maximum 3D diameter) and writes them as STL, OBJ (with its material
// library) and PLY, in 3D Slicer's LPS coordinates or in RAS.
//
// Surfaces are made by marching cubes on each segment's binary mask, with
// the voxel centres as the cubes' corners and the vertices at the middle of
// the cut edges (the 0.5 level of the mask). The case table is derived in
// code from two rules (table.go) instead of being typed in, which makes the
// surface watertight by construction, including the ambiguous faces where
// classic tables leave holes: voxels that share an edge or a face are one
// surface; voxels that share only a corner are two.
//
// # Invariants
//
//   - Every mesh Extract returns is closed and a 2-manifold: every edge is
//     shared by exactly two triangles that run along it in opposite
//     directions, and the triangles around every vertex form one fan.
//     Check verifies exactly this, and Smooth and Decimate keep it.
//   - Triangles face outwards (counter-clockwise seen from outside), so
//     Volume is positive, also for grids whose affine mirrors (LAS and other
//     grids with a negative determinant).
//   - Vertices are world coordinates in mm, RAS+, as everywhere in polyseg;
//     only the writers convert, to LPS unless told RAS, and they name the
//     system in the file (SPACE=LPS or SPACE=RAS: STL header, OBJ and PLY
//     comments), as 3D Slicer writes and reads it.
//   - A segment touching the grid's border is closed there, as if the grid
//     went on with background: the mask is padded by one voxel, so the
//     surface runs along the border voxels' outer faces.
//   - Only the segment's bounding box is visited after one pass over the
//     volume to find it (ExtractBox skips that pass when the caller knows a
//     box); the work is split into slabs of slices over the workers, and an
//     Extractor keeps its buffers between calls.
//   - Every file is written atomically (internal/atomicfile).
//
// Measure gives the shape measures pyradiomics defines on the same
// (unsmoothed) marching-cubes surface; its maximum diameter is exact (the
// farthest pair of surface vertices, found among convex hull vertices with
// integer arithmetic), not sampled.
package mesh
