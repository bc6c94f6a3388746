package app

import (
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/internal/settings"
	"github.com/polyseg/polyseg/models"
)

// GoHeapLimit is the soft limit on the Go heap (runtime/debug's
// SetMemoryLimit) the app's binary sets unless GOMEMLIMIT says otherwise.
// Left to the collector's default (GOGC=100), the heap grows to twice what
// is live before it is collected, and with a 512×512×300 scan open (315 MB
// of voxels, 157 MB of labels, the undo steps, the embeddings in memory)
// it passed 1.2 GB while the background encoder ran. With the limit the
// collector works before the heap passes it, which keeps the app near
// 1 GB resident beside ONNX Runtime's own memory (docs/benchmarks.md,
// memory). A scan whose live data exceed it makes the collector run more
// often (the Go runtime caps it at about half the CPU): GOMEMLIMIT set
// higher suits such scans.
const GoHeapLimit = 640 << 20

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
