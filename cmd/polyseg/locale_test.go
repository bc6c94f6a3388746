package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoLocaleNoise runs this test binary again under the C locale and
// checks that Fyne, initialised on import, did not complain about it: the
// internal/locale package must be initialised before Fyne's lang package.
func TestNoLocaleNoise(t *testing.T) {
	for _, lang := range []string{"C", "C.UTF-8", "POSIX", ""} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLocaleChild$")
		cmd.Env = append(withoutLocale(os.Environ()), "POLYSEG_LOCALE_CHILD=1")
		if lang != "" {
			cmd.Env = append(cmd.Env, "LANG="+lang)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("LANG=%q: child failed: %v\n%s", lang, err, out)
		}
		if strings.Contains(string(out), "Fyne error") || strings.Contains(string(out), "locale") {
			t.Errorf("LANG=%q: Fyne complained about the locale:\n%s", lang, out)
		}
	}
}

func TestLocaleChild(t *testing.T) {
	if os.Getenv("POLYSEG_LOCALE_CHILD") == "" {
		t.Skip("only run as the child of TestNoLocaleNoise")
	}
}

func withoutLocale(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LC_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// TestHelpExitsZero: -h on any command prints its usage and succeeds; an
// unknown flag is a usage error.
func TestHelpExitsZero(t *testing.T) {
	for name := range commands {
		var out, errw strings.Builder
		if code := run(t.Context(), []string{name, "-h"}, &out, &errw); code != 0 {
			t.Errorf("polyseg %s -h: exit %d, stderr %q", name, code, errw.String())
		}
		errw.Reset()
		if code := run(t.Context(), []string{name, "--no-such-flag"}, &out, &errw); code != 2 {
			t.Errorf("polyseg %s --no-such-flag: exit %d, want 2; stderr %q", name, code, errw.String())
		}
	}
}
