package dataset

import "fmt"

// CheckError is a dataset that failed its check, as an error: the one
// polyseg dataset check exits with, and the one that refuses a dataset
// for training before anything starts. Its Report lists the problems.
type CheckError struct{ Report *Report }

func (e *CheckError) Error() string {
	r := e.Report
	return fmt.Sprintf("%s: %d problems found (%s dataset, %d cases)", r.Dir, len(r.Problems), r.Layout, r.Cases)
}

// Err returns nil when the dataset passed its check, else a *CheckError.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	return &CheckError{Report: r}
}
