package assets

import (
	"bytes"
	"image/png"
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
	// The liver (left) has the liver's colour of the default table.
	liver := DefaultColorTable().Color(5)
	r, g, b, _ := img.At(92, 118).RGBA()
	if uint8(r>>8) != liver.R || uint8(g>>8) != liver.G || uint8(b>>8) != liver.B {
		t.Errorf("icon liver colour (%d, %d, %d), want %v", r>>8, g>>8, b>>8, liver)
	}
	a := AppIcon()
	a[0] = 0
	if AppIcon()[0] == 0 {
		t.Error("AppIcon shares its bytes")
	}
}
