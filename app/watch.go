package app

import "sync"

// watchers are the functions that hear of a session's changes besides
// Options.OnChange, which is fixed when the session is made: a dataset's
// worklist, opened later, watches for the user's activity.
type watchers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(Change)
}

// Watch makes fn hear of every change, as Options.OnChange does (after
// the lock is released, from the goroutine that made the change), until
// the returned function is called.
func (s *Session) Watch(fn func(Change)) (stop func()) {
	w := &s.watchers
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func(Change){}
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.fns, id)
	}
}

func (w *watchers) notify(c Change) {
	w.mu.Lock()
	if len(w.fns) == 0 {
		w.mu.Unlock()
		return
	}
	fns := make([]func(Change), 0, len(w.fns))
	for _, fn := range w.fns {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}
