// Package xdg names the per-user folders polyseg keeps its files in, after
// the XDG Base Directory Specification
// (https://specifications.freedesktop.org/basedir-spec/latest/): settings
// under the config home, state that should survive (autosaves) under the
// state home, and what can be recomputed (embeddings) under the cache
// home. Each is the base folder's "polyseg" sub-folder; nothing is created
// here.
package xdg

import (
	"errors"
	"os"
	"path/filepath"
)

// App is the name of polyseg's sub-folder in each base folder.
const App = "polyseg"

// ErrNoHome is returned when neither the XDG variable nor $HOME says
// where a user's folders are.
var ErrNoHome = errors.New("no home folder: set $HOME or the XDG_*_HOME variables")

// ConfigDir is $XDG_CONFIG_HOME/polyseg, else ~/.config/polyseg.
func ConfigDir() (string, error) { return dir("XDG_CONFIG_HOME", ".config") }

// StateDir is $XDG_STATE_HOME/polyseg, else ~/.local/state/polyseg.
func StateDir() (string, error) { return dir("XDG_STATE_HOME", filepath.Join(".local", "state")) }

// CacheDir is $XDG_CACHE_HOME/polyseg, else ~/.cache/polyseg.
func CacheDir() (string, error) { return dir("XDG_CACHE_HOME", ".cache") }

// dir follows the specification: the variable is used only when it holds
// an absolute path; otherwise the default under $HOME.
func dir(env, def string) (string, error) {
	if d := os.Getenv(env); filepath.IsAbs(d) {
		return filepath.Join(d, App), nil
	}
	home := os.Getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil || home == "" {
			return "", ErrNoHome
		}
	}
	return filepath.Join(home, def, App), nil
}
