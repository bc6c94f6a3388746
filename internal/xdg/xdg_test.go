package xdg

import (
	"path/filepath"
	"testing"
)

func TestDirs(t *testing.T) {
	tests := []struct {
		name, env, value string
		f                func() (string, error)
		want             string
	}{
		{"config from the variable", "XDG_CONFIG_HOME", "/x/conf", ConfigDir, "/x/conf/polyseg"},
		{"config default", "XDG_CONFIG_HOME", "", ConfigDir, "/home/u/.config/polyseg"},
		{"relative variable ignored", "XDG_CONFIG_HOME", "rel/conf", ConfigDir, "/home/u/.config/polyseg"},
		{"state from the variable", "XDG_STATE_HOME", "/x/state", StateDir, "/x/state/polyseg"},
		{"state default", "XDG_STATE_HOME", "", StateDir, "/home/u/.local/state/polyseg"},
		{"cache default", "XDG_CACHE_HOME", "", CacheDir, "/home/u/.cache/polyseg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", "/home/u")
			t.Setenv(tt.env, tt.value)
			got, err := tt.f()
			if err != nil || got != filepath.FromSlash(tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
