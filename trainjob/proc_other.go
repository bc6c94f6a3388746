//go:build !unix

package trainjob

import (
	"errors"
	"os"
	"syscall"
)

// Training runs where the trainer's process group can be signalled: on
// Unix. Elsewhere the trainer is killed outright on cancel.

func groupAttr() *syscall.SysProcAttr { return nil }
func lockThread()                     {}
func unlockThread()                   {}

var stopSignals = []os.Signal{os.Kill}

func signalGroup(pid int, sig os.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}

func groupAlive(int) bool { return false }

func processAlive(pid int) bool {
	_, err := os.FindProcess(pid)
	return err == nil && !errors.Is(err, os.ErrProcessDone)
}
