package embedcache

import "container/list"

// lru is a least-recently-used set of values by key whose costs add up to
// at most max. It does no locking: its owner's lock guards it.
type lru[V any] struct {
	max   int64
	used  int64
	ll    *list.List // of *lruEntry[V], most recent at the front
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key  string
	v    V
	cost int64
}

func newLRU[V any](max int64) *lru[V] {
	return &lru[V]{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

// get returns the value of key, making it the most recent.
func (l *lru[V]) get(key string) (V, bool) {
	if el, ok := l.items[key]; ok {
		l.ll.MoveToFront(el)
		return el.Value.(*lruEntry[V]).v, true
	}
	var zero V
	return zero, false
}

// has reports whether key is held, without touching its recency.
func (l *lru[V]) has(key string) bool {
	_, ok := l.items[key]
	return ok
}

// add makes v, of the given cost, the most recent value of key and drops
// the least recent until the costs fit max. A value costing more than max
// is not kept at all.
func (l *lru[V]) add(key string, v V, cost int64) {
	if el, ok := l.items[key]; ok {
		l.ll.MoveToFront(el)
		return
	}
	if cost > l.max {
		return
	}
	l.items[key] = l.ll.PushFront(&lruEntry[V]{key, v, cost})
	l.used += cost
	for l.used > l.max {
		last := l.ll.Back()
		e := last.Value.(*lruEntry[V])
		l.ll.Remove(last)
		delete(l.items, e.key)
		l.used -= e.cost
	}
}

// len returns how many values are held and their total cost.
func (l *lru[V]) len() (int, int64) { return l.ll.Len(), l.used }
