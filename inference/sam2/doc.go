// Package sam2 runs SAM 2.1 as a video tracker over a volume's axial
// slices (the "sam2" propagation engine): its image encoder, memory
// attention, memory encoder and mask decoder, exported to ONNX by NVIDIA's
// export_sam2_onnx.py (Export), with a memory bank of the anchor and the
// most recent slices. The four files are the user's: WriteManifests
// checks a folder's files and writes their manifests.
//
// # Invariants
//
//   - The four models' signatures are those of the export (sam2Parts);
//     another file is refused by name before anything runs.
//   - Between two anchors each slice is decided from both ends and fused;
//     outward from the outermost anchors a chain stops where the object
//     score says the structure has ended.
//   - Anchors come back unchanged; the engine never tunes anything on the
//     label's value.
package sam2
