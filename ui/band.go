package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// The message band under the tool bars: on the left the last message
// (what a tool could not do, in the warning colour; what a job did), the
// whole width of the window for it; on the right, while a model's result
// waits, the preview banner with Accept and Reject. The band keeps the
// banner's height when empty, so that the views do not move when a
// preview comes or goes.

// band makes the message band.
func (m *MainWindow) band() fyne.CanvasObject {
	reserve := canvas.NewRectangle(color.Transparent)
	reserve.SetMinSize(fyne.NewSize(0, m.tools.banner.MinSize().Height))
	return container.NewStack(reserve, container.NewBorder(nil, nil, nil, m.tools.banner, m.toolbar.message))
}

// say shows text in the message band, in the warning colour when warn is
// set (something could not be done); "" clears the band.
func (m *MainWindow) say(text string, warn bool) { m.toolbar.say(text, warn) }

// say is MainWindow.say; the tool bar holds the band's label.
func (tb *toolbar) say(text string, warn bool) {
	l := tb.message
	imp := widget.MediumImportance
	if warn {
		imp = widget.WarningImportance
	}
	if l.Text != text || l.Importance != imp {
		l.Importance = imp
		l.SetText(text)
	}
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}
