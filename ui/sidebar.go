package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// sidebar holds the overlay's controls right of the views: its opacity
// and outline over the segment list (segments.go).
type sidebar struct {
	session *app.Session

	box      fyne.CanvasObject
	opacity  *widget.Slider
	outline  *widget.Check
	segments *segmentList
}

func newSidebar(m *MainWindow) *sidebar {
	s := m.session
	sb := &sidebar{session: s}
	sb.opacity = widget.NewSlider(0, 1)
	sb.opacity.Step = 0.05
	sb.opacity.SetValue(app.DefaultOpacity)
	sb.opacity.OnChanged = s.SetOpacity
	sb.opacity.OnChangeEnded = func(float64) { m.giveKeysBack(sb.opacity) }
	sb.outline = widget.NewCheck("Outline only", func(on bool) {
		s.SetOutline(on)
		m.giveKeysBack(sb.outline)
	})
	sb.segments = newSegmentList(m)
	top := container.NewVBox(
		widget.NewLabelWithStyle("Segments", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, widget.NewLabel("Opacity"), nil, sb.opacity),
		sb.outline,
	)
	sb.box = container.NewBorder(top, nil, nil, nil, sb.segments.box)
	return sb
}

func voxelCount(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM vx", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk vx", float64(n)/1e3)
	}
	return fmt.Sprintf("%d vx", n)
}

// volumeML writes a segment's volume to about three digits.
func volumeML(ml float64) string {
	switch {
	case ml == 0:
		return "0 mL"
	case ml >= 100:
		return fmt.Sprintf("%.0f mL", ml)
	case ml >= 10:
		return fmt.Sprintf("%.1f mL", ml)
	case ml >= 0.01:
		return fmt.Sprintf("%.2f mL", ml)
	}
	return fmt.Sprintf("%.4f mL", ml)
}

// updateLabels refreshes the segment list and the overlay controls. The
// session keeps voxel counts as it edits, so listing is cheap whatever
// changed.
func (sb *sidebar) updateLabels() {
	var opacity float64
	var outline bool
	sb.session.Read(func(_ *volume.Volume, l *viewer.Overlay) {
		opacity, outline = l.Opacity, l.Outline
	})
	if sb.opacity.Value != opacity {
		sb.opacity.SetValue(opacity)
	}
	if sb.outline.Checked != outline {
		sb.outline.SetChecked(outline)
	}
	sb.segments.update()
}
