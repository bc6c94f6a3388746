package embedcache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// text is a codec of strings that refuses files not ending in its
// terminator, as a real codec refuses a file cut short.
type text struct{}

func (text) Marshal(v string) ([]byte, error) { return []byte(v + "$"), nil }

func (text) Unmarshal(_ string, b []byte) (string, error) {
	if !bytes.HasSuffix(b, []byte("$")) {
		return "", errors.New("cut short")
	}
	return string(b[:len(b)-1]), nil
}

func key(c byte) string { return strings.Repeat(string(c), 64) }

func TestCache(t *testing.T) {
	for _, behind := range []bool{false, true} {
		name := "sync"
		if behind {
			name = "write-behind"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, Magic: "TESTMAG1", Ext: ".t", MemoryEntries: 1, WriteBehind: behind}
			c := New[string](opts, text{})
			c.Put(key('a'), "first")
			c.Put(key('b'), "second") // evicts a from memory
			if v, ok := c.Get(key('a')); !ok || v != "first" {
				t.Fatalf("evicted value: %q, %v; want it from its file", v, ok)
			}
			if !c.Has(key('b')) || c.Has(key('c')) {
				t.Error("Has is wrong")
			}
			c.Close()

			fresh := New[string](opts, text{})
			defer fresh.Close()
			if v, ok := fresh.Get(key('b')); !ok || v != "second" {
				t.Fatalf("disk round trip: %q, %v", v, ok)
			}
			// A damaged file is ignored, and so is another cache's file.
			p := fresh.Path(key('a'))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-1], 0o600)
			if _, ok := fresh.Get(key('a')); ok {
				t.Error("a truncated file was served")
			}
			other := New[string](Options{Dir: dir, Magic: "OTHERMAG", Ext: ".t"}, text{})
			if _, ok := other.Get(key('b')); ok || other.Has(key('b')) {
				t.Error("a file with another magic was served")
			}
			if got := filepath.Dir(p); filepath.Base(got) != "aa" {
				t.Errorf("file %s not under its key's first two characters", p)
			}
		})
	}
}

func TestMemoryOnly(t *testing.T) {
	c := New[string](Options{Magic: "TESTMAG1", MemoryEntries: 2}, text{})
	defer c.Close()
	for _, k := range []byte("abc") {
		c.Put(key(k), string(k))
	}
	if _, ok := c.Get(key('a')); ok {
		t.Error("the least recently used value outlived the bound")
	}
	if v, ok := c.Get(key('c')); !ok || v != "c" {
		t.Errorf("latest value: %q, %v", v, ok)
	}
}
