package inference

// Placement returns where the U-Net runs.
func (u *UNet) Placement() Placement { return u.sess.placement() }

// Placements returns where the SAM encoder and decoder run, in that order:
// on CUDA the encoder runs as its variant (sam-encoder-cuda), and either
// may run on the CPU with the reason.
func (s *SAM) Placements() []Placement { return []Placement{s.enc.placement(), s.dec.placement()} }

func (s *Session) placement() Placement {
	return Placement{Model: s.Manifest.Name, Provider: s.provider, Note: s.note}
}
