package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Fyne's theme has no padlock: the segment list's lock buttons draw these,
// in the theme's foreground colour.
var (
	lockedIcon = theme.NewThemedResource(fyne.NewStaticResource("locked.svg", []byte(
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#000000" d="M6 10V7a6 6 0 0 1 12 0v3h1a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V11a1 1 0 0 1 1-1h1zm2 0h8V7a4 4 0 0 0-8 0v3z"/></svg>`)))
	unlockedIcon = theme.NewThemedResource(fyne.NewStaticResource("unlocked.svg", []byte(
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#000000" d="M8 10V7a4 4 0 0 1 7.75-1.4l1.87-.7A6 6 0 0 0 6 7v3H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1V11a1 1 0 0 0-1-1z"/></svg>`)))
)
