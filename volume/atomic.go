package volume

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// writeFileAtomic writes a file through write and makes it appear at path
// only once it is complete: the data goes to a temporary file in the same
// directory (so the final rename cannot cross file systems), is synced, and
// is renamed over path. A crash or an error leaves any previous file at path
// untouched and removes the temporary file, so a reader never sees half a
// label volume.
func writeFileAtomic(path string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	// os.CreateTemp makes the file 0600; a written volume is an ordinary
	// document and gets the permissions os.Create would give it.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Best effort: sync the directory so the rename itself survives a crash.
	// The file is complete and in place by now, and some file systems refuse
	// to sync a directory, so a failure here is not the caller's problem.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
