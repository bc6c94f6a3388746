// Package phantom generates synthetic abdominal CT scans with organ labels:
// the app's bundled example and training data for the PolyCL trainer.
//
// A phantom is one random patient (body outline with skin, subcutaneous fat
// and a muscle wall; spine, ribs and iliac wings; liver, spleen, kidneys,
// gallbladder, stomach, pancreas, duodenum, colon and small bowel with gas,
// urinary bladder; aorta, inferior vena cava, portal and splenic veins; lung
// bases above the diaphragm; for some patients the arms) seen through one
// Scanner: matrix, field of view, slice thickness, blur, noise and contrast
// phase. The presets ScannerA and ScannerB make two imaging domains for
// cross-domain experiments.
//
// # Invariants
//
//   - World coordinates are RAS+ in mm (see package volume): +x is the
//     patient's right, so the liver lies at x > 0 as in the real fixtures.
//     The origin is on the body axis at the middle of vertebra L2.
//   - The grid is axis-aligned RAS: voxel (i, j, k) is at world
//     (x0 + i·d, y0 + j·d, z0 + k·t), d the pixel spacing, t the slice
//     thickness; slices are contiguous.
//   - Label values are TotalSegmentator v2's (LabelNames); a voxel's label is
//     the structure at the slice centre, its HU the mean over the slice
//     thickness.
//   - Generate is deterministic: the same Options give the same voxels bit
//     for bit, whatever the number of workers. All randomness comes from
//     math/rand/v2 PCG streams derived from Options.Seed; the anatomy is
//     drawn once, in a fixed order, and each slice's texture and noise from
//     streams of its own, so a slice is made whole by one worker.
//   - Memory is the result only (6 bytes a voxel) plus per-worker slice
//     buffers; Scanner.Validate bounds the voxel count.
//   - Voxel values are integers in [-1024, 3071] HU, as scanners store them.
//
// Non-contrast HU means are calibrated on patient A of the real fixtures;
// docs/phantom.md has the calibration table and the pictures.
package phantom
