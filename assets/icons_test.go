package assets

import (
	"bytes"
	"errors"
	"image/png"
	"io/fs"
	"os"
	"testing"
)

func TestAppIcon(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(AppIcon()))
	if err != nil {
		t.Fatalf("decode icon: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
		t.Errorf("icon is %v, want 256×256", b)
	}
	a := AppIcon()
	a[0] = 0
	if AppIcon()[0] == 0 {
		t.Error("AppIcon shares its bytes")
	}
}

// TestAppIconMatchesPackaged keeps the embedded icon the same as the
// Icon.png that FyneApp.toml names for packaging.
func TestAppIconMatchesPackaged(t *testing.T) {
	packaged, err := os.ReadFile("../Icon.png")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no ../Icon.png")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(packaged, AppIcon()) {
		t.Error("assets/icons/polyseg.png differs from Icon.png: copy Icon.png over it")
	}
}
