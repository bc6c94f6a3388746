package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// bufSize is large because the biggest callers stream hundreds of megabytes
// of (compressed) voxels; small writes pass through it unchanged.
const bufSize = 1 << 20

// WriteFile writes a file through write and makes it appear at path only
// once it is complete. The file gets the permission bits perm exactly (the
// umask does not apply, as the temporary file is chmod-ed). Errors from
// write are returned as they are; the caller adds the path.
func WriteFile(path string, perm fs.FileMode, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		// The caller names path; the temporary name would only confuse.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("create a file in folder %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(f, bufSize)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	// os.CreateTemp makes the file 0600 whatever the caller wants.
	if err := f.Chmod(perm); err != nil {
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
