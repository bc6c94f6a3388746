// Package models reads and checks model manifests: the NAME.json file that
// sits beside every NAME.onnx the app runs (format: docs/model-manifest.md).
//
// # Invariants
//
//   - A *Manifest returned by Load has passed Validate: known format and
//     kind, a file name without directory parts, a 64-digit lowercase
//     sha256, at least one input and output, and for U-Nets a complete
//     preprocess block and at least one label.
//   - Verify reads the ONNX file and compares its sha256 with the manifest:
//     a model is never run before Verify has passed (onnxrt.LoadModel
//     calls it). Every error names the model and the file.
//   - CheckSignature compares the manifest's inputs and outputs with the
//     signature ONNX Runtime reports for the file; a model whose names,
//     element types, ranks or fixed dimensions differ is refused.
//   - Scan never fails because of one bad model: each manifest found is
//     returned with its own error, so the app still opens scans when a
//     model directory is empty, missing or partly broken.
//   - A model folder (DIR/models/NAME, folder.go) holds NAME.json and the
//     ONNX file it names; LoadFolder and Find read it by the folder's path,
//     and ListFolders lists a dataset's, newest first, hidden work folders
//     passed over and broken ones listed with their error.
//
// This package does not import ONNX Runtime: the caller passes the
// signature it read, so manifests can be checked and listed without the
// native library.
package models
