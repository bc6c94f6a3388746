package main

import (
	"fmt"
	"io"
	"os"
)

// progressLine prints the progress of a long command on w (stderr). On a
// terminal it redraws one line; into a file or a pipe, where every "\r"
// update would stay in the log, it writes a plain line for each tenth of
// the work instead. Call end once the work stops, however it stops, so
// that what follows (an error) starts on a line of its own.
type progressLine struct {
	w    io.Writer
	what string
	tty  bool // redraw one line with "\r"
	last int  // the percentage shown, -1 before the first report
	open bool // a redrawn line was started and not ended
}

func newProgressLine(w io.Writer, what string) *progressLine {
	return &progressLine{w: w, what: what, last: -1, tty: isTerminal(w)}
}

// isTerminal reports whether w is a character device: a terminal, for
// stderr in practice (/dev/null is one too, and whatever is drawn there is
// lost anyway).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// plainStep is the share of the work, in percent, between two plain lines.
const plainStep = 10

func (p *progressLine) Report(done, total int, msg string) {
	pct := 100
	if total > 0 {
		pct = min(max(100*done/total, 0), 100)
	}
	if pct == p.last {
		return
	}
	if !p.tty {
		// The first report, each further tenth, and the end.
		if p.last >= 0 && pct/plainStep == p.last/plainStep && pct < 100 {
			return
		}
		p.last = pct
		fmt.Fprintf(p.w, "%s: %3d%% %s\n", p.what, pct, msg)
		return
	}
	p.last = pct
	fmt.Fprintf(p.w, "\r%s: %3d%% %-40s", p.what, pct, msg)
	p.open = true
	if done >= total {
		p.end()
	}
}

func (p *progressLine) end() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
