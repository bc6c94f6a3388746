package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// showHelp shows every key and mouse action, made from the shortcut table
// that handles the keys, so the panel always says what the keys do.
func (m *MainWindow) showHelp() {
	if m.help != nil {
		m.help.Hide()
	}
	content := container.NewVBox()
	names, groups := m.keys.Groups()
	for n, g := range groups {
		content.Add(widget.NewLabelWithStyle(names[n], fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		form := container.New(layout.NewFormLayout())
		for _, s := range g {
			does := s.Name
			if s.Help != "" {
				does += ": " + s.Help
			}
			key := widget.NewLabelWithStyle(s.KeyLabel(), fyne.TextAlignTrailing, fyne.TextStyle{Monospace: true})
			text := widget.NewLabel(does)
			text.Wrapping = fyne.TextWrapWord
			form.Add(key)
			form.Add(text)
		}
		content.Add(form)
	}
	d := dialog.NewCustom("Keys and mouse", "Close", container.NewVScroll(content), m.win)
	d.Resize(fyne.NewSize(760, 620))
	m.help = d
	m.showDialog(d)
}
