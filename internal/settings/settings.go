// Package settings reads polyseg's user settings: a JSON file,
// settings.json in the user's config folder (internal/xdg's ConfigDir, so
// ~/.config/polyseg/settings.json by default), which the app and every
// command read at start. A missing file gives the defaults; a file that
// does not parse is an error naming it, never silently ignored. The file
// is the user's: polyseg reads it and never writes it.
//
// Environment variables override single settings (for a run, a test or a
// script): POLYSEG_SETTINGS names another file, POLYSEG_EMBED_CACHE_MB
// the embedding cache's disk bound, POLYSEG_EMBED_CACHE_DIR its folder.
package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/internal/xdg"
	"github.com/polyseg/polyseg/models"
)

// FileName is the settings file's name in the config folder.
const FileName = "settings.json"

// maxFile bounds the settings file: a real one is a few hundred bytes.
const maxFile = 1 << 20

// Settings are the user's choices. The zero value means the defaults of
// every setting.
type Settings struct {
	// EmbeddingCache says where SAM's slice embeddings are kept on disk
	// and how much of the disk they may take.
	EmbeddingCache EmbeddingCache `json:"embedding_cache"`
	// EmbeddingMemoryMB bounds the embeddings kept in memory (2 MiB a
	// slice); zero means the default (64).
	EmbeddingMemoryMB int64 `json:"embedding_memory_mb,omitempty"`
	// SAMEncoder picks the encoder: "float32" (the default) or "int8"
	// (its quantized variant, which polyseg quantize makes).
	SAMEncoder string `json:"sam_encoder,omitempty"`
	// SAMWindows gives segments, by name, the image window SAM sees them
	// in (level and width in HU); every other segment is seen in the
	// encoder's default window. A segment with a window of its own costs
	// an encoding of the scan of its own.
	SAMWindows map[string]models.Window `json:"sam_windows,omitempty"`
}

// EmbeddingCache is where the disk cache of embeddings lives.
type EmbeddingCache struct {
	// Dir is its folder; empty means the runtime cache's "embeddings".
	Dir string `json:"dir,omitempty"`
	// MaxMB bounds it in megabytes (2^20 bytes); zero means the default
	// (2048), negative no bound.
	MaxMB int64 `json:"max_mb,omitempty"`
}

// Path returns the settings file's path: $POLYSEG_SETTINGS, else
// settings.json in the config folder.
func Path() (string, error) {
	if p := os.Getenv("POLYSEG_SETTINGS"); p != "" {
		return p, nil
	}
	dir, err := xdg.ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, FileName), nil
}

// Load reads the settings file (see Path) and applies the environment's
// overrides. A missing file gives the defaults.
func Load() (Settings, error) {
	var s Settings
	p, err := Path()
	if err == nil {
		s, err = Read(p)
	} else if errors.Is(err, xdg.ErrNoHome) {
		err = nil // no home, no settings: the defaults
	}
	if err != nil {
		return Settings{}, err
	}
	return s, s.applyEnv()
}

// Read reads the settings file at path; a missing file gives the
// defaults.
func Read(path string) (Settings, error) {
	var s Settings
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("settings %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return s, fmt.Errorf("settings %s: %w", path, err)
	}
	if len(b) > maxFile {
		return s, fmt.Errorf("settings %s: larger than %d bytes", path, maxFile)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	// A misspelt setting would otherwise be ignored without a word.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Settings{}, fmt.Errorf("settings %s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return Settings{}, fmt.Errorf("settings %s: %w", path, err)
	}
	return s, nil
}

// Validate checks the values.
func (s Settings) Validate() error {
	switch s.SAMEncoder {
	case "", "float32", "int8":
	default:
		return fmt.Errorf("sam_encoder %q: want float32 or int8", s.SAMEncoder)
	}
	if s.EmbeddingMemoryMB < 0 || s.EmbeddingMemoryMB > 1<<20 {
		return fmt.Errorf("embedding_memory_mb %d: want 0 (the default) to %d", s.EmbeddingMemoryMB, 1<<20)
	}
	if s.EmbeddingCache.MaxMB > 1<<30 {
		return fmt.Errorf("embedding_cache.max_mb %d is more than a petabyte", s.EmbeddingCache.MaxMB)
	}
	for name, w := range s.SAMWindows {
		if !(w.Width > 0) || math.IsInf(w.Width, 0) || math.IsNaN(w.Level) || math.IsInf(w.Level, 0) {
			return fmt.Errorf("sam_windows %q: level %v, width %v: the width must be positive and both finite", name, w.Level, w.Width)
		}
	}
	return nil
}

// applyEnv applies the environment's overrides.
func (s *Settings) applyEnv() error {
	if v := os.Getenv("POLYSEG_EMBED_CACHE_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("POLYSEG_EMBED_CACHE_MB=%q: want a number of megabytes", v)
		}
		s.EmbeddingCache.MaxMB = n
	}
	if v := os.Getenv("POLYSEG_EMBED_CACHE_DIR"); v != "" {
		s.EmbeddingCache.Dir = v
	}
	return s.Validate()
}

// Window returns the window the settings give a segment named name
// (compared without case, spaces and underscores alike), and whether they
// give one.
func (s Settings) Window(name string) (models.Window, bool) {
	key := normalName(name)
	for n, w := range s.SAMWindows {
		if normalName(n) == key {
			return w, true
		}
	}
	return models.Window{}, false
}

func normalName(n string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(n, func(r rune) bool { return r == ' ' || r == '_' }), "_"))
}
