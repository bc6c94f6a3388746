package assets

import _ "embed"

// The application icon: an axial CT slice in the radiological convention
// (the liver on the screen's left, the spleen on its right, the spine at the
// bottom) on a dark rounded square.
//
//go:embed icons/polyseg.png
var appIcon []byte

// AppIcon returns the application icon as a 256×256 PNG. The slice is a
// copy; callers may keep or modify it.
func AppIcon() []byte {
	b := make([]byte, len(appIcon))
	copy(b, appIcon)
	return b
}
