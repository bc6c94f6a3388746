package onnxrt

// Progress receives progress reports from long calls (a whole-volume
// segmentation, a refinement). Done counts finished steps out of total; the
// message says what the step was, for a status line. Implementations must
// be cheap and safe to call from the calling goroutine; a nil Progress is
// allowed everywhere and reports nothing.
type Progress interface {
	Report(done, total int, message string)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(done, total int, message string)

// Report calls f.
func (f ProgressFunc) Report(done, total int, message string) { f(done, total, message) }

// Report passes a report to p when p is not nil.
func Report(p Progress, done, total int, msg string) {
	if p != nil {
		p.Report(done, total, msg)
	}
}
