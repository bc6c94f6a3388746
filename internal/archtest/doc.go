// Package archtest holds no code: its test enforces the direction of imports
// between the project's packages (volume ← viewer, inference ← app ← ui ←
// cmd), so that, for example, the volume readers can never come to depend on
// Fyne or ONNX Runtime.
package archtest
