package models

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

// The U-Nets trained by training/ and committed beside this file are
// compiled into the binary so that a lone polyseg binary can segment
// without a models folder: one file to install. polycl-abdomen (seven
// organs, the learning loop's model, docs/learning-loop.md) is the
// default; polycl-liver (liver only, phantoms only), the default before it,
// stays so that it can still be chosen and its results reproduced.
//
//go:embed polycl-abdomen.json polycl-abdomen.onnx polycl-liver.json polycl-liver.onnx
var builtin embed.FS

// BuiltinNames lists the models compiled into the binary, the default first.
func BuiltinNames() []string { return []string{"polycl-abdomen", "polycl-liver"} }

// SearchDirs returns the folders a model name is looked up in, in order:
// $POLYSEG_MODELS (a list like PATH) when set; else the models folder
// beside the executable, ./models, and the runtime cache's models folder
// (cacheModels, skipped when empty).
func SearchDirs(cacheModels string) []string {
	if env := os.Getenv("POLYSEG_MODELS"); env != "" {
		return filepath.SplitList(env)
	}
	var out []string
	if exe, err := os.Executable(); err == nil {
		out = append(out, filepath.Join(filepath.Dir(exe), "models"))
	}
	out = append(out, "models")
	if cacheModels != "" {
		out = append(out, cacheModels)
	}
	return out
}

// Resolve is Find, falling back to the models compiled into the binary:
// when ref names a built-in model that no folder in dirs holds, it is
// written into into (normally the runtime cache's models folder, since ONNX
// Runtime loads models from files) and loaded from there. A copy already
// there is reused when its checksum is right and replaced when not.
func Resolve(ref, into string, dirs ...string) (*Manifest, error) {
	m, err := Find(ref, dirs...)
	if err == nil || !isBuiltin(ref) {
		return m, err
	}
	if into == "" {
		return nil, err
	}
	if ierr := installBuiltin(ref, into); ierr != nil {
		return nil, fmt.Errorf("%w; the built-in copy could not be installed: %w", err, ierr)
	}
	return Load(filepath.Join(into, ref+".json"))
}

func isBuiltin(ref string) bool {
	for _, n := range BuiltinNames() {
		if n == ref {
			return true
		}
	}
	return false
}

// installBuiltin writes the built-in model ref into dir unless an intact
// copy is there.
func installBuiltin(ref, dir string) error {
	js, err := builtin.ReadFile(ref + ".json")
	if err != nil {
		return fmt.Errorf("built-in model %q: %w", ref, err)
	}
	var m Manifest
	if err := json.Unmarshal(js, &m); err != nil {
		return fmt.Errorf("built-in model %q: %w", ref, err)
	}
	onnx, err := builtin.ReadFile(m.File)
	if err != nil {
		return fmt.Errorf("built-in model %q: %w", ref, err)
	}
	if sum := sha256.Sum256(onnx); hex.EncodeToString(sum[:]) != m.SHA256 {
		// The build embedded a model and a manifest that do not belong
		// together: a packaging error, reported rather than installed.
		return fmt.Errorf("built-in model %q: %w: the embedded file does not match its manifest", ref, ErrChecksum)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("install built-in model %q: %w", ref, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{m.File, onnx}, {ref + ".json", js}} {
		p := filepath.Join(dir, f.name)
		if same, err := sameContent(p, f.data); err != nil {
			return fmt.Errorf("install built-in model %q: %w", ref, err)
		} else if same {
			continue
		}
		data := f.data
		if err := atomicfile.WriteFile(p, 0o644, func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		}); err != nil {
			return fmt.Errorf("install built-in model %q: %w", ref, err)
		}
	}
	return nil
}

// sameContent reports whether the file at p holds exactly data; a missing
// file is not an error.
func sameContent(p string, data []byte) (bool, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return bytes.Equal(b, data), nil
}
