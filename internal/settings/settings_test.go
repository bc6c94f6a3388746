package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/models"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name, file string
		want       Settings
		err        string
	}{
		{"empty object", `{}`, Settings{}, ""},
		{"cache", `{"embedding_cache": {"dir": "/x/emb", "max_mb": 512}, "embedding_memory_mb": 64}`,
			Settings{EmbeddingCache: EmbeddingCache{Dir: "/x/emb", MaxMB: 512}, EmbeddingMemoryMB: 64}, ""},
		{"unbounded", `{"embedding_cache": {"max_mb": -1}}`, Settings{EmbeddingCache: EmbeddingCache{MaxMB: -1}}, ""},
		{"encoder", `{"sam_encoder": "int8"}`, Settings{SAMEncoder: "int8"}, ""},
		{"windows", `{"sam_windows": {"liver": {"level": 30, "width": 150}}}`,
			Settings{SAMWindows: map[string]models.Window{"liver": {Level: 30, Width: 150}}}, ""},
		{"misspelt", `{"embeding_cache": {}}`, Settings{}, "unknown field"},
		{"bad encoder", `{"sam_encoder": "fp16"}`, Settings{}, "sam_encoder"},
		{"zero width", `{"sam_windows": {"liver": {"level": 30}}}`, Settings{}, "width"},
		{"negative memory", `{"embedding_memory_mb": -5}`, Settings{}, "embedding_memory_mb"},
		{"not JSON", `max_mb = 5`, Settings{}, "invalid character"},
		{"cut short", `{"embedding_cache": {"max_mb": 5`, Settings{}, "EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			os.WriteFile(p, []byte(tc.file), 0o600)
			got, err := Read(p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), p) {
					t.Fatalf("error %v; want one naming %s and saying %q", err, p, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.EmbeddingCache != tc.want.EmbeddingCache || got.EmbeddingMemoryMB != tc.want.EmbeddingMemoryMB ||
				got.SAMEncoder != tc.want.SAMEncoder || len(got.SAMWindows) != len(tc.want.SAMWindows) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if s, err := Read(filepath.Join(t.TempDir(), "absent.json")); err != nil || s.EmbeddingCache.MaxMB != 0 {
		t.Errorf("a missing file: %+v, %v; want the defaults", s, err)
	}
}

// Load reads settings.json in the XDG config folder, and the environment
// overrides single settings.
func TestLoad(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("POLYSEG_SETTINGS", "")
	t.Setenv("POLYSEG_EMBED_CACHE_MB", "")
	t.Setenv("POLYSEG_EMBED_CACHE_DIR", "")
	p, err := Path()
	if err != nil || p != filepath.Join(home, "polyseg", FileName) {
		t.Fatalf("path %s, %v", p, err)
	}
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte(`{"embedding_cache": {"max_mb": 100}}`), 0o600)
	s, err := Load()
	if err != nil || s.EmbeddingCache.MaxMB != 100 {
		t.Fatalf("%+v, %v", s, err)
	}
	t.Setenv("POLYSEG_EMBED_CACHE_MB", "7")
	t.Setenv("POLYSEG_EMBED_CACHE_DIR", "/elsewhere")
	if s, err = Load(); err != nil || s.EmbeddingCache.MaxMB != 7 || s.EmbeddingCache.Dir != "/elsewhere" {
		t.Errorf("with the environment: %+v, %v", s, err)
	}
	t.Setenv("POLYSEG_EMBED_CACHE_MB", "lots")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "POLYSEG_EMBED_CACHE_MB") {
		t.Errorf("a bad override: %v", err)
	}
}

func TestWindow(t *testing.T) {
	s := Settings{SAMWindows: map[string]models.Window{"Liver": {Level: 30, Width: 150}, "kidney right": {Level: 20, Width: 300}}}
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"liver", true}, {"LIVER", true}, {"kidney_right", true}, {"Kidney Right", true}, {"spleen", false}, {"", false}} {
		if _, ok := s.Window(tc.name); ok != tc.ok {
			t.Errorf("%q: %v, want %v", tc.name, ok, tc.ok)
		}
	}
}

// FuzzRead feeds the settings reader arbitrary files: it must answer
// settings or an error, never panic, and what it accepts must validate.
func FuzzRead(f *testing.F) {
	for _, seed := range []string{`{}`, `{"embedding_cache": {"dir": "/x", "max_mb": 5}}`, `{"sam_windows": {"a": {"level": 1, "width": 2}}}`, `{"sam_encoder": "int8"}`, `[`} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			return
		}
		p := filepath.Join(dir, "s.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Read(p)
		if err == nil {
			if err := s.Validate(); err != nil {
				t.Errorf("accepted settings that do not validate: %v", err)
			}
		}
	})
}
