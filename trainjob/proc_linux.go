package trainjob

import (
	"runtime"
	"syscall"
)

// setParentDeath has the kernel send the trainer SIGTERM when polyseg
// dies without stopping it (kill -9, a crash), which the trainer handles
// as an interruption: its half-written model folder is removed.
func setParentDeath(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }

// The parent-death signal is tied to the thread that started the child,
// not to the process: the starting goroutine keeps its thread until the
// trainer has ended, so that the Go runtime retiring the thread does not
// send it.
func lockThread()   { runtime.LockOSThread() }
func unlockThread() { runtime.UnlockOSThread() }
