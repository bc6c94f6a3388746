package main

import (
	"net"
	"path/filepath"
	"testing"
)

func TestCheckDisplay(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "X7"))
	if err != nil {
		t.Skipf("no unix sockets here: %v", err)
	}
	defer l.Close()
	tests := []struct {
		display string
		ok      bool
	}{
		{"", false},
		{":7", true},
		{":7.0", true},
		{"unix:7", true},
		{":4711", false}, // no server listens
		{"nonsense", false},
		{":x", false},
		{"localhost:10.0", true}, // remote (ssh -X): left to Fyne
	}
	for _, tc := range tests {
		t.Run(tc.display, func(t *testing.T) {
			err := checkDisplay(tc.display, dir)
			if (err == nil) != tc.ok {
				t.Errorf("checkDisplay(%q) = %v, want ok %v", tc.display, err, tc.ok)
			}
		})
	}
}
