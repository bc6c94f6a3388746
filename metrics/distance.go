package metrics

// SquaredDistances returns, for every voxel of a grid of dims d (i
// fastest) with spacing sp in mm, the squared Euclidean distance in mm² to
// the nearest set voxel of feat (+Inf everywhere when none is set). It is
// exact for anisotropic spacing. A 2D image is a grid with d[2] = 1.
func SquaredDistances(feat []bool, d [3]int, sp [3]float64) []float64 {
	return distanceTransform(feat, d, sp)
}
