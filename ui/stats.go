package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
)

// showStatistics measures every segment in the background and shows the
// table (Segment > Statistics…): voxels, volume in mL, mean and SD of HU,
// axial slices, surface area and maximum 3D diameter, as polyseg stats
// prints them, with a button that exports it as CSV.
func (m *MainWindow) showStatistics() <-chan struct{} {
	if v, _ := m.session.Volume(); v == nil {
		m.showInfo("Statistics", "Open a scan first.")
		return closedChan()
	}
	var table *app.StatsTable
	job := m.session.RunJob("Statistics", func(ctx context.Context, p app.Progress) error {
		p.Report(-1, "measuring segments")
		var err error
		table, err = m.session.Statistics(ctx)
		return err
	})
	return m.whenDone(job, "statistics", func() { m.statsDialog(table) })
}

// statsDialog shows table.
func (m *MainWindow) statsDialog(table *app.StatsTable) {
	cells := append([][]string{table.Header.Human}, func() [][]string {
		var rows [][]string
		for _, r := range table.Rows {
			rows = append(rows, r.Human)
		}
		return rows
	}()...)
	widths := make([]float32, len(table.Header.Human))
	probe := widget.NewLabel("")
	for _, row := range cells {
		for c, text := range row {
			probe.SetText(text)
			widths[c] = max(widths[c], probe.MinSize().Width)
		}
	}
	t := widget.NewTable(
		func() (int, int) { return len(cells), len(widths) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			l.TextStyle.Bold = id.Row == 0
			l.SetText(cells[id.Row][id.Col])
		})
	for c, w := range widths {
		t.SetColumnWidth(c, w)
	}
	var content fyne.CanvasObject = t
	if len(table.Rows) == 0 {
		content = widget.NewLabel("No segment: the label volume is background only.")
	}
	var d *dialog.CustomDialog
	export := widget.NewButton("Export CSV…", func() {
		_, path := m.session.Volume()
		base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".gz"), ".nii")
		if base == "" || base == "." {
			base = "segments"
		}
		m.worklist.saveFile(base+"_stats.csv", func(out string) { m.ExportStatistics(table, out) })
	})
	closeBtn := widget.NewButton("Close", func() { d.Hide() })
	d = dialog.NewCustomWithoutButtons(fmt.Sprintf("Statistics of %d segments", len(table.Rows)),
		container.NewStack(content), m.win)
	d.SetButtons([]fyne.CanvasObject{closeBtn, export})
	d.Resize(fyne.NewSize(min(m.win.Canvas().Size().Width-40, 820), min(m.win.Canvas().Size().Height-40, 480)))
	m.showDialog(d)
}

// ExportStatistics writes table to path as CSV (atomically), as polyseg
// stats --csv does, and says so in the status line.
func (m *MainWindow) ExportStatistics(table *app.StatsTable, path string) {
	if err := table.WriteCSV(path); err != nil {
		m.showError(path, err)
		return
	}
	m.say("Statistics written to "+path, false)
}
