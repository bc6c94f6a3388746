package onnxrt

// Placement returns where the session's model runs, and why not where
// asked.
func (s *Session) Placement() Placement {
	return Placement{Model: s.Manifest.Name, Provider: s.provider, Note: s.note}
}

// ModelRef names one model file that ran.
type ModelRef struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	SHA256   string `json:"sha256"`
	Provider string `json:"provider"`
}

// Ref returns the reference to the model this session runs, for
// provenance records.
func (s *Session) Ref() ModelRef {
	return ModelRef{Name: s.Manifest.Name, Kind: s.Manifest.Kind, SHA256: s.Manifest.SHA256, Provider: string(s.provider)}
}
