//go:build unix && !linux

package trainjob

import "syscall"

func setParentDeath(*syscall.SysProcAttr) {}
func lockThread()                         {}
func unlockThread()                       {}
