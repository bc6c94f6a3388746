package ui

// File > Export DICOM SEG: the labels as a DICOM Segmentation of the series
// the scan was opened from (app.Session.ExportSEG). File > Open labels
// reads a SEG back (app.Session.LoadLabels).

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/polyseg/polyseg/app"
)

// newSEGItem makes the menu item, disabled until a scan from DICOM is open.
func (m *MainWindow) newSEGItem() *fyne.MenuItem {
	m.segItem = fyne.NewMenuItem("Export DICOM SEG…", m.exportSEGDialog)
	m.segItem.Disabled = true
	return m.segItem
}

// updateSEGItem enables Export DICOM SEG when the open scan came from a
// DICOM series: a segmentation refers to the images it segments.
func (m *MainWindow) updateSEGItem() {
	if m.segItem == nil {
		return
	}
	disabled := !m.session.ScanIsDICOM()
	if m.segItem.Disabled == disabled {
		return
	}
	m.segItem.Disabled = disabled
	if mm := m.win.MainMenu(); mm != nil {
		mm.Refresh()
	}
}

func (m *MainWindow) exportSEGDialog() {
	if !m.session.ScanIsDICOM() {
		m.showInfo("Export DICOM SEG", "A DICOM SEG refers to the DICOM images it segments: open the scan from its DICOM folder first.")
		return
	}
	_, path := m.session.Volume()
	d := m.saveDialog(filepath.Base(filepath.Clean(path))+"_seg.dcm", func(out string) {
		if strings.HasSuffix(out, ".nii") || strings.HasSuffix(out, ".nii.gz") {
			m.showError(out, errors.New("a DICOM SEG is a DICOM file: name it .dcm"))
			return
		}
		m.ExportSEG(out)
	})
	d.SetFilter(suffixFilter{".dcm"})
	besideScan(d, path)
	m.showDialog(d)
}

// ExportSEG writes the labels as a DICOM SEG in the background; the
// channel is closed once the result is shown.
func (m *MainWindow) ExportSEG(path string) <-chan struct{} {
	var msg string
	job := m.session.RunJob("Export "+filepath.Base(path), func(ctx context.Context, p app.Progress) error {
		p.Report(-1, "writing DICOM SEG")
		sum, err := m.session.ExportSEG(ctx, path)
		if err == nil {
			msg = fmt.Sprintf("DICOM SEG written to %s: %d segments, %d frames", path, len(sum.Segments), sum.Frames)
			if len(sum.Notes) > 0 {
				msg += "; " + strings.Join(sum.Notes, "; ")
			}
		}
		return err
	})
	return m.whenDone(job, path, func() { m.say(msg, false) })
}
