package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
)

// jobsBar shows the running jobs: the user's own first (a propagation, a
// segmentation: the oldest of them with its progress and a button that
// cancels it), the background encoding last, each named with its stage.
// It is hidden while nothing runs.
type jobsBar struct {
	box      *fyne.Container
	label    *widget.Label
	bar      *widget.ProgressBar
	infinite *widget.ProgressBarInfinite
	cancel   *widget.Button
	job      *app.Job // the job the bar and the button are for
}

func newJobsBar() *jobsBar {
	j := &jobsBar{
		label:    widget.NewLabel(""),
		bar:      widget.NewProgressBar(),
		infinite: widget.NewProgressBarInfinite(),
	}
	j.label.Truncation = fyne.TextTruncateEllipsis
	j.cancel = widget.NewButtonWithIcon("", theme.CancelIcon(), func() {
		if j.job != nil {
			j.job.Cancel()
		}
	})
	j.infinite.Stop()
	j.box = container.NewBorder(nil, nil, nil, container.NewHBox(container.NewGridWrap(fyne.NewSize(160, j.bar.MinSize().Height),
		container.NewStack(j.bar, j.infinite)), j.cancel), j.label)
	j.box.Hide()
	return j
}

// background reports whether job runs without the user having asked for
// it: the encoding of the open scan for SAM.
func background(job *app.Job) bool { return job.Name() == app.EncodeAheadName }

// describeJob says what job is doing: its name, its stage, and how far it
// is when that is known and not shown by the bar.
func describeJob(job *app.Job, withFraction bool) string {
	frac, stage := job.Progress()
	text := job.Name()
	if stage != "" {
		text += ": " + stage
	}
	if withFraction && frac >= 0 {
		text += fmt.Sprintf(" (%.0f%%)", 100*frac)
	}
	return text
}

func (j *jobsBar) update(jobs []*app.Job) {
	if len(jobs) == 0 {
		j.job = nil
		j.infinite.Stop()
		j.box.Hide()
		return
	}
	// Stable: each kind keeps its oldest first.
	jobs = slices.Clone(jobs)
	slices.SortStableFunc(jobs, func(a, b *app.Job) int {
		return cmp.Compare(btoi(background(a)), btoi(background(b)))
	})
	j.job = jobs[0]
	parts := []string{describeJob(j.job, false)}
	for _, o := range jobs[1:] {
		parts = append(parts, describeJob(o, true))
	}
	j.label.SetText(strings.Join(parts, "  ·  "))
	frac, _ := j.job.Progress()
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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
