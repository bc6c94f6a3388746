package ui

// File > Export surfaces: the segments' closed surfaces as STL, OBJ or PLY
// files, as `polyseg mesh` writes them (app.Session.ExportSurfaces).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/mesh"
)

// The export form's choices.
const (
	exportEvery   = "Every segment"
	exportVisible = "The visible segments"
	exportChosen  = "The chosen segment"
	coordsLPS     = "LPS (3D Slicer, DICOM)"
	coordsRAS     = "RAS"
)

var exportFormats = []string{"STL", "OBJ (and its .mtl)", "PLY"}

// surfaceExportForm is the export dialog's fields: `polyseg mesh`'s flags.
type surfaceExportForm struct {
	segments *widget.Select
	format   *widget.Select
	smooth   *widget.Entry
	decimate *widget.Entry
	coords   *widget.RadioGroup
}

func newSurfaceExportForm() *surfaceExportForm {
	f := &surfaceExportForm{
		segments: widget.NewSelect([]string{exportEvery, exportVisible, exportChosen}, nil),
		format:   widget.NewSelect(exportFormats, nil),
		smooth:   widget.NewEntry(),
		decimate: widget.NewEntry(),
		coords:   widget.NewRadioGroup([]string{coordsLPS, coordsRAS}, nil),
	}
	f.segments.SetSelected(exportVisible)
	f.format.SetSelected(exportFormats[0])
	f.smooth.SetText(strconv.Itoa(app.DefaultSurfaceSmooth))
	f.smooth.Validator = func(s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > mesh.MaxSmooth {
			return fmt.Errorf("smoothing: 0 to %d iterations", mesh.MaxSmooth)
		}
		return nil
	}
	f.decimate.SetText("1")
	f.decimate.Validator = func(s string) error {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(r > 0 && r <= 1) {
			return errors.New("the fraction of triangles to keep: above 0, at most 1")
		}
		return nil
	}
	f.coords.Horizontal = true
	f.coords.Required = true
	f.coords.SetSelected(coordsLPS)
	return f
}

func (f *surfaceExportForm) items() []*widget.FormItem {
	return []*widget.FormItem{
		widget.NewFormItem("Segments", f.segments),
		widget.NewFormItem("Format", f.format),
		{Text: "Smoothing", Widget: f.smooth, HintText: "Taubin iterations; 0 keeps the voxel surface"},
		{Text: "Keep triangles", Widget: f.decimate, HintText: "the fraction to keep (quadric decimation); 1 keeps all"},
		widget.NewFormItem("Coordinates", f.coords),
	}
}

// export returns what the form asks for, with the session's segments.
func (f *surfaceExportForm) export(s *app.Session) (app.SurfaceExport, error) {
	var e app.SurfaceExport
	smooth, err := strconv.Atoi(strings.TrimSpace(f.smooth.Text))
	if err != nil {
		return e, fmt.Errorf("smoothing %q: %w", f.smooth.Text, err)
	}
	keep, err := strconv.ParseFloat(strings.TrimSpace(f.decimate.Text), 64)
	if err != nil {
		return e, fmt.Errorf("triangles to keep %q: %w", f.decimate.Text, err)
	}
	e.Options = mesh.Options{Smooth: smooth, Decimate: keep}
	e.Format = mesh.Format(f.format.SelectedIndex())
	if f.coords.Selected == coordsRAS {
		e.Coords = mesh.RAS
	}
	switch f.segments.Selected {
	case exportChosen:
		v := s.ActiveLabel()
		if s.SegmentOf(v).Voxels == 0 {
			return e, fmt.Errorf("the chosen segment, %s, has no voxels", s.SegmentOf(v).Name)
		}
		e.Labels = []uint16{v}
	case exportVisible:
		e.Labels = []uint16{}
		for _, seg := range s.Segments() {
			if !seg.Hidden && seg.Voxels > 0 {
				e.Labels = append(e.Labels, seg.Value)
			}
		}
		if len(e.Labels) == 0 {
			return e, errors.New("no segment with voxels is visible")
		}
	}
	return e, e.Options.Check()
}

// exportSurfacesDialog asks what to export, then where (surfaceFileDialog).
func (m *MainWindow) exportSurfacesDialog() {
	if v, _ := m.session.Volume(); v == nil {
		m.showInfo("Export surfaces", "There is no scan open, and so no segments.")
		return
	}
	f := newSurfaceExportForm()
	d := dialog.NewForm("Export surfaces", "Choose file…", "Cancel", f.items(), func(ok bool) {
		if !ok {
			return
		}
		e, err := f.export(m.session)
		if err != nil {
			m.showError("", err)
			return
		}
		m.surfacesChosen(e)
	}, m.win)
	d.Resize(fyne.NewSize(560, d.MinSize().Height))
	m.showDialog(d)
}

// surfacesChosen goes on once the form is filled: the file dialog.
// Tests replace it to see what the form asked for.
func (m *MainWindow) surfacesChosen(e app.SurfaceExport) {
	if m.onSurfaceExport != nil {
		m.onSurfaceExport(e)
		return
	}
	_, path := m.session.Volume()
	d := m.saveDialog(scanBaseName(path)+"_surfaces"+e.Format.Ext(), func(chosen string) {
		// The dialog's empty file of the name chosen is replaced, or
		// removed when the surfaces go to other names (one file per
		// segment, the name completed with the format's extension).
		out := chosen
		if filepath.Ext(out) == "" {
			out += e.Format.Ext()
		}
		done := m.ExportSurfaces(out, e)
		go func() {
			<-done
			if st, err := os.Stat(chosen); err == nil && st.Size() == 0 {
				os.Remove(chosen)
			}
		}()
	})
	m.showDialog(d)
}

// ExportSurfaces writes the surfaces in the background; the channel is
// closed once the result is shown.
func (m *MainWindow) ExportSurfaces(path string, e app.SurfaceExport) <-chan struct{} {
	var paths []string
	job := m.session.RunJob("Export "+filepath.Base(path), func(ctx context.Context, p app.Progress) error {
		p.Report(-1, "making surfaces")
		var err error
		paths, err = m.session.ExportSurfaces(ctx, path, e)
		return err
	})
	return m.whenDone(job, path, func() {
		m.say(fmt.Sprintf("Surfaces written (%s, mm): %s", e.Coords, strings.Join(paths, ", ")), false)
	})
}
