package embedcache

import "container/list"

// lru is a least-recently-used set of values by key, at most max of them.
// It does no locking: its owner's lock guards it.
type lru[V any] struct {
	max   int
	ll    *list.List // of lruEntry[V], most recent at the front
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	v   V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

// get returns the value of key, making it the most recent.
func (l *lru[V]) get(key string) (V, bool) {
	if el, ok := l.items[key]; ok {
		l.ll.MoveToFront(el)
		return el.Value.(lruEntry[V]).v, true
	}
	var zero V
	return zero, false
}

// has reports whether key is held, without touching its recency.
func (l *lru[V]) has(key string) bool {
	_, ok := l.items[key]
	return ok
}

// add makes v the most recent value of key and drops the least recent
// beyond max.
func (l *lru[V]) add(key string, v V) {
	if el, ok := l.items[key]; ok {
		l.ll.MoveToFront(el)
		return
	}
	l.items[key] = l.ll.PushFront(lruEntry[V]{key, v})
	for l.ll.Len() > l.max {
		last := l.ll.Back()
		l.ll.Remove(last)
		delete(l.items, last.Value.(lruEntry[V]).key)
	}
}
