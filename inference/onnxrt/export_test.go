package onnxrt

// The external tests (package onnxrt_test, which may import the SAM runner
// built on this package) reach these unexported helpers.
var (
	PluginModel    = (*Runtime).pluginModel
	SAMProbeInputs = samProbeInputs
	CompareOnCPU   = (*Runtime).compareOnCPU
	DestroyAll     = destroyAll
)
