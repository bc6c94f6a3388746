//go:build unix

package trainjob

import (
	"errors"
	"os"
	"syscall"
)

// groupAttr starts the trainer as the leader of a process group of its
// own, so that a signal reaches it and every process it starts (torchrun's
// workers, DataLoader workers) and nothing else: the terminal's Ctrl+C
// reaches polyseg, which decides what the trainer gets.
func groupAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setParentDeath(a)
	return a
}

// The signals a cancelled run sends, in turn.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL}

// signalGroup sends sig to every process of the group led by pid.
func signalGroup(pid int, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return errors.New("not a Unix signal")
	}
	err := syscall.Kill(-pid, s)
	if errors.Is(err, syscall.ESRCH) {
		return nil // the group has ended
	}
	return err
}

// groupAlive reports whether a process of the group led by pid is left.
func groupAlive(pid int) bool {
	err := syscall.Kill(-pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processAlive reports whether process pid exists (a zombie counts).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
