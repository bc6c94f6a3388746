//go:build unix

package lockfile

import (
	"errors"
	"syscall"
)

// alive reports whether process pid runs on this host. Signal 0 checks
// without sending anything; EPERM means it runs under another user.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
