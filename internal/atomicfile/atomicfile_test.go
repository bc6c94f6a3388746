package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	errWrite := errors.New("disk on fire")
	big := strings.Repeat("x", 3*bufSize+17) // more than the buffer holds
	tests := []struct {
		name    string
		old     bool // a file exists at path beforehand
		perm    fs.FileMode
		write   func(w io.Writer) error
		wantErr error
		want    string // the file's content afterwards; "" when absent
	}{
		{"replaces", true, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, nil, "new"},
		{"creates", false, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, nil, "new"},
		{"private", true, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, nil, "new"},
		{"larger than the buffer", false, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, big); return err }, nil, big},
		{"failure keeps the old file", true, 0o644, func(w io.Writer) error {
			if _, err := io.WriteString(w, "half"); err != nil {
				return err
			}
			return errWrite
		}, errWrite, "old"},
		{"failure creates nothing", false, 0o644, func(w io.Writer) error { return errWrite }, errWrite, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "labels.nii.gz")
			wantEntries := 0
			if tt.old {
				if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(path, tt.perm, tt.write); !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.want != "" {
				wantEntries = 1
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tt.want {
					t.Errorf("content %.20q (%d bytes), want %.20q (%d bytes)", b, len(b), tt.want, len(tt.want))
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				wantPerm := tt.perm
				if tt.wantErr != nil {
					wantPerm = 0o644 // the old file's
				}
				if fi.Mode().Perm() != wantPerm {
					t.Errorf("mode %v, want %v", fi.Mode().Perm(), wantPerm)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != wantEntries {
				t.Errorf("directory holds %d entries, want %d (no temporary left)", len(entries), wantEntries)
			}
		})
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "x.json")
	called := false
	err := WriteFile(path, 0o644, func(w io.Writer) error { called = true; return nil })
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v, want one wrapping fs.ErrNotExist", err)
	}
	// The folder at fault is named, not the temporary file never made.
	if msg := err.Error(); !strings.Contains(msg, filepath.Dir(path)) || strings.Contains(msg, ".tmp-") {
		t.Errorf("error %q: want the folder named and no temporary file", msg)
	}
	if called {
		t.Error("write was called although no file could be created")
	}
}

func TestWriteFileRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := WriteFile("plain.txt", 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "ok"); return err }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("plain.txt")
	if err != nil || string(b) != "ok" {
		t.Errorf("read back %q, %v; want \"ok\"", b, err)
	}
}
