package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// x11SocketDir is where a local X server listens, one socket per display.
const x11SocketDir = "/tmp/.X11-unix"

// displayError says why the app cannot open a window, or returns nil. On
// the systems where Fyne draws through X11, GLFW panics with a stack trace
// when there is no display; a one-line message is what the user needs.
func displayError() error {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		return checkDisplay(os.Getenv("DISPLAY"), x11SocketDir)
	}
	return nil
}

// checkDisplay checks an X11 DISPLAY value: set, well formed, and, for a
// local display, a server listening on its socket in socketDir. Remote
// displays (ssh -X's localhost:10) are left to Fyne: reaching them is not
// cheaper here than there.
func checkDisplay(display, socketDir string) error {
	if display == "" {
		return errors.New("no display: DISPLAY is not set (run in a desktop session, over ssh -X, or under xvfb-run)")
	}
	i := strings.LastIndex(display, ":")
	if i < 0 {
		return fmt.Errorf("DISPLAY %q: want HOST:N or :N", display)
	}
	host, num := display[:i], display[i+1:]
	num, _, _ = strings.Cut(num, ".") // the screen number, if any
	if _, err := strconv.Atoi(num); err != nil {
		return fmt.Errorf("DISPLAY %q: want HOST:N or :N", display)
	}
	if host != "" && host != "unix" {
		return nil
	}
	sock := filepath.Join(socketDir, "X"+num)
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil && runtime.GOOS == "linux" {
		// Servers on Linux may listen on the abstract socket only.
		if ac, aerr := net.DialTimeout("unix", "@"+sock, time.Second); aerr == nil {
			c, err = ac, nil
		}
	}
	if err != nil {
		return fmt.Errorf("no X server on DISPLAY %s: %w", display, pathCause(err))
	}
	c.Close()
	return nil
}
