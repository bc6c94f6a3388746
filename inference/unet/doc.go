// Package unet runs a 2D segmentation model of manifest kind "unet" (the
// PolyCL U-Net the trainer in training/ exports) over every axial slice of
// a volume, and gives its probabilities as a propagation prior.
//
// # Invariants
//
//   - Pre-processing is the manifest's (window, window01 normalisation,
//     bilinear resize to its input size), applied to radiological slice
//     images; the labels written are the manifest's values, on the input
//     volume's own grid.
//   - A prior computes a slice only when asked and keeps it: a
//     propagation asks only for the slices it reaches.
package unet
