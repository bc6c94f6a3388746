package app

import (
	"cmp"
	"slices"
	"strings"

	"github.com/polyseg/polyseg/dataset"
)

// SortKey orders a worklist.
type SortKey int

// The orders a worklist can be shown in; ties go by case ID.
const (
	ByCase     SortKey = iota // case ID
	ByStatus                  // to do, in progress, needs review, done, skipped
	ByEditTime                // least editing time first
	ByUpdated                 // most recently changed first
	ByUser                    // who last worked on the case
	// ByDoubt puts the cases still to do or in progress first, the one
	// the current model doubts most first (Work.Doubts; cases not
	// measured yet after those that are), then the others by case: the
	// next case to annotate is the one the model knows least.
	ByDoubt
)

// SortKeys lists the orders, as a choice shows them.
var SortKeys = []SortKey{ByCase, ByStatus, ByEditTime, ByUpdated, ByUser, ByDoubt}

func (k SortKey) String() string {
	switch k {
	case ByStatus:
		return "status"
	case ByEditTime:
		return "editing time"
	case ByUpdated:
		return "last change"
	case ByUser:
		return "annotator"
	case ByDoubt:
		return "model's doubt"
	}
	return "case"
}

// SortEntries orders es by k, in place; ByDoubt with no doubt known.
func SortEntries(es []dataset.Entry, k SortKey) { SortEntriesBy(es, k, nil) }

// SortEntriesBy orders es by k, in place, ByDoubt by the doubts given per
// case (Work.Doubts).
func SortEntriesBy(es []dataset.Entry, k SortKey, doubts map[string]float64) {
	rank := map[dataset.Status]int{}
	for n, s := range dataset.Statuses {
		rank[s] = n
	}
	slices.SortStableFunc(es, func(a, b dataset.Entry) int {
		var c int
		switch k {
		case ByStatus:
			c = rank[a.State.Status] - rank[b.State.Status]
		case ByEditTime:
			c = cmp.Compare(a.State.EditTime, b.State.EditTime)
		case ByUpdated:
			c = b.State.Updated.Compare(a.State.Updated)
		case ByUser:
			c = strings.Compare(a.State.User, b.State.User)
		case ByDoubt:
			c = compareDoubt(a, b, doubts)
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.Case.ID, b.Case.ID)
	})
}

// compareDoubt orders remaining cases before the others, and among them
// the more doubtful first, cases of unknown doubt after the known.
func compareDoubt(a, b dataset.Entry, doubts map[string]float64) int {
	ra, rb := Remaining(a.State.Status), Remaining(b.State.Status)
	switch {
	case ra != rb:
		if ra {
			return -1
		}
		return 1
	case !ra:
		return 0
	}
	da, oka := doubts[a.Case.ID]
	db, okb := doubts[b.Case.ID]
	switch {
	case oka != okb:
		if oka {
			return -1
		}
		return 1
	case !oka:
		return 0
	}
	return cmp.Compare(db, da)
}

// FilterEntries returns the entries whose status is among keep; all of
// them when keep is empty.
func FilterEntries(es []dataset.Entry, keep ...dataset.Status) []dataset.Entry {
	if len(keep) == 0 {
		return slices.Clone(es)
	}
	var out []dataset.Entry
	for _, e := range es {
		if slices.Contains(keep, e.State.Status) {
			out = append(out, e)
		}
	}
	return out
}

// Remaining reports whether a case still needs work: to do or in
// progress.
func Remaining(s dataset.Status) bool { return s == dataset.ToDo || s == dataset.InProgress }

// StepCase returns the case to go to from case current in the order of
// es: the next one (dir 1) or the previous one (dir -1). Cases open in
// someone else's app are passed over (those whose holder looks gone are
// not: opening one offers to take it over). With remaining, only cases
// still to do or in progress count, and the search goes round the list
// once. A current case not in es (filtered out) counts as being before
// the first entry, going forwards, and after the last, going backwards.
// It reports false when there is no such case.
func StepCase(es []dataset.Entry, current string, dir int, remaining bool) (string, bool) {
	if len(es) == 0 || dir == 0 {
		return "", false
	}
	if dir > 0 {
		dir = 1
	} else {
		dir = -1
	}
	at := slices.IndexFunc(es, func(e dataset.Entry) bool { return e.Case.ID == current })
	if at < 0 {
		at = -1
		if dir < 0 {
			at = len(es)
		}
	}
	steps := len(es)
	if !remaining {
		if dir > 0 {
			steps = len(es) - 1 - at
		} else {
			steps = at
		}
	}
	for n := 1; n <= steps; n++ {
		e := es[((at+dir*n)%len(es)+len(es))%len(es)]
		if e.Case.ID == current {
			continue
		}
		if e.Lock.Held && !e.Lock.Stale {
			continue
		}
		if remaining && !Remaining(e.State.Status) {
			continue
		}
		return e.Case.ID, true
	}
	return "", false
}
