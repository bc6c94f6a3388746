package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
)

// jobsBar shows the oldest running job: its name and stage, its progress
// (a moving bar when the amount of work is unknown), and a button that
// cancels it. It is hidden while nothing runs.
type jobsBar struct {
	box      *fyne.Container
	label    *widget.Label
	bar      *widget.ProgressBar
	infinite *widget.ProgressBarInfinite
	cancel   *widget.Button
	job      *app.Job
}

func newJobsBar() *jobsBar {
	j := &jobsBar{
		label:    widget.NewLabel(""),
		bar:      widget.NewProgressBar(),
		infinite: widget.NewProgressBarInfinite(),
	}
	j.cancel = widget.NewButtonWithIcon("", theme.CancelIcon(), func() {
		if j.job != nil {
			j.job.Cancel()
		}
	})
	j.infinite.Stop()
	j.box = container.NewHBox(j.label, container.NewGridWrap(fyne.NewSize(160, j.bar.MinSize().Height),
		container.NewStack(j.bar, j.infinite)), j.cancel)
	j.box.Hide()
	return j
}

func (j *jobsBar) update(jobs []*app.Job) {
	if len(jobs) == 0 {
		j.job = nil
		j.infinite.Stop()
		j.box.Hide()
		return
	}
	j.job = jobs[0]
	frac, stage := j.job.Progress()
	text := j.job.Name()
	if stage != "" {
		text += ": " + stage
	}
	if len(jobs) > 1 {
		text += fmt.Sprintf(" (+%d)", len(jobs)-1)
	}
	j.label.SetText(text)
	if frac < 0 {
		j.bar.Hide()
		j.infinite.Show()
		j.infinite.Start()
	} else {
		j.infinite.Stop()
		j.infinite.Hide()
		j.bar.Show()
		j.bar.SetValue(frac)
	}
	j.box.Show()
}
