package assets

import _ "embed"

// The application icon, the same image as the repository's Icon.png (which
// the fyne tool packages, and go:embed cannot reach): an axial slice drawn
// radiologically, liver on the screen's left, with the crosshair.
//
//go:embed icons/polyseg.png
var appIcon []byte

// AppIcon returns the application icon as a 256×256 PNG, for a window's
// icon at run time (fyne.NewStaticResource("polyseg.png", AppIcon())). The
// slice is a copy; callers may keep or modify it.
func AppIcon() []byte {
	b := make([]byte, len(appIcon))
	copy(b, appIcon)
	return b
}
