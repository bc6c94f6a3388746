package models

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResolveBuiltin(t *testing.T) {
	t.Setenv("POLYSEG_MODELS", "")
	into := filepath.Join(t.TempDir(), "cache", "models")

	m, err := Resolve("polycl-liver", into, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(m.Path) != into {
		t.Fatalf("built-in model loaded from %s, want it installed into %s", m.Path, into)
	}
	if err := m.Verify(); err != nil {
		t.Fatalf("installed built-in model: %v", err)
	}
	if m.Kind != KindUNet {
		t.Errorf("kind %q, want %q", m.Kind, KindUNet)
	}

	// A damaged installed copy is replaced, not used.
	if err := os.WriteFile(m.ModelPath(), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("damaged copy: Verify = %v, want a checksum error", err)
	}
	m2, err := Resolve("polycl-liver", into)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Verify(); err != nil {
		t.Fatalf("after reinstalling: %v", err)
	}
}

func TestResolvePrefersFolders(t *testing.T) {
	// The committed models/ folder holds the same model: Resolve must load
	// it from there and install nothing.
	into := filepath.Join(t.TempDir(), "unused")
	m, err := Resolve("polycl-liver", into, ".")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(m.Path) != "." {
		t.Errorf("loaded from %s, want the folder given", m.Path)
	}
	if _, err := os.Stat(into); !os.IsNotExist(err) {
		t.Errorf("Resolve wrote into %s although a folder had the model", into)
	}
}

func TestResolveUnknown(t *testing.T) {
	into := filepath.Join(t.TempDir(), "models")
	if _, err := Resolve("no-such-model", into, t.TempDir()); err == nil {
		t.Fatal("Resolve found a model that does not exist")
	}
	if _, err := os.Stat(into); !os.IsNotExist(err) {
		t.Errorf("Resolve wrote into %s for an unknown model", into)
	}
}

func TestSearchDirs(t *testing.T) {
	t.Setenv("POLYSEG_MODELS", "/a"+string(os.PathListSeparator)+"/b")
	if got := SearchDirs("/cache/models"); len(got) != 2 || got[0] != "/a" || got[1] != "/b" {
		t.Errorf("with POLYSEG_MODELS: %v", got)
	}
	t.Setenv("POLYSEG_MODELS", "")
	got := SearchDirs("/cache/models")
	if len(got) != 3 || got[1] != "models" || got[2] != "/cache/models" {
		t.Errorf("default: %v, want [beside-exe models /cache/models]", got)
	}
}
