package app

import (
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/internal/settings"
	"github.com/polyseg/polyseg/models"
)

// SAMOptions turns the user's settings into SAM's options: the embedding
// cache's folder and bounds, and the encoder variant.
func SAMOptions(st settings.Settings) sam.Options {
	o := sam.Options{DiskCache: st.EmbeddingCache.Dir, Encoder: st.SAMEncoder}
	switch mb := st.EmbeddingCache.MaxMB; {
	case mb > 0:
		o.DiskBytes = mb << 20
	case mb < 0:
		o.DiskBytes = -1
	}
	o.MemoryBytes = st.EmbeddingMemoryMB << 20
	return o
}

// samWindow returns the image window SAM sees the segment of value v in:
// the one the settings give its name, or nil for the encoder's default
// window. It never depends on the value itself (a label value means
// different organs in different label maps), only on the name the user
// gave or chose.
func (s *Session) samWindow(v uint16) *models.Window {
	if len(s.models.opts.Settings.SAMWindows) == 0 {
		return nil
	}
	name := s.SegmentOf(v).Name
	w, ok := s.models.opts.Settings.Window(name)
	if !ok {
		return nil
	}
	return &w
}

// samWindows returns the windows of the segments of values that have
// their own (see samWindow), nil when none has.
func (s *Session) samWindows(values []uint16) map[uint16]models.Window {
	var m map[uint16]models.Window
	for _, v := range values {
		if w := s.samWindow(v); w != nil {
			if m == nil {
				m = map[uint16]models.Window{}
			}
			m[v] = *w
		}
	}
	return m
}

// windowOr returns *w, or def when w is nil.
func windowOr(w *models.Window, def models.Window) models.Window {
	if w != nil {
		return *w
	}
	return def
}
