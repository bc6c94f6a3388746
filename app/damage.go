package app

import "sync"

// VoxelBox is a box of voxel indices, Min inclusive and Max exclusive on
// each axis. A box with Max <= Min on some axis is empty.
type VoxelBox struct {
	Min, Max [3]int
}

// Empty reports whether the box holds no voxel.
func (b VoxelBox) Empty() bool {
	return b.Max[0] <= b.Min[0] || b.Max[1] <= b.Min[1] || b.Max[2] <= b.Min[2]
}

// Union returns the smallest box holding b and o.
func (b VoxelBox) Union(o VoxelBox) VoxelBox {
	switch {
	case b.Empty():
		return o
	case o.Empty():
		return b
	}
	for a := range 3 {
		b.Min[a] = min(b.Min[a], o.Min[a])
		b.Max[a] = max(b.Max[a], o.Max[a])
	}
	return b
}

// add grows b to hold voxel (i, j, k).
func (b *VoxelBox) add(i, j, k int) {
	if b.Empty() {
		*b = VoxelBox{Min: [3]int{i, j, k}, Max: [3]int{i + 1, j + 1, k + 1}}
		return
	}
	p := [3]int{i, j, k}
	for a := range 3 {
		b.Min[a] = min(b.Min[a], p[a])
		b.Max[a] = max(b.Max[a], p[a]+1)
	}
}

// damageLog remembers, for the latest changes, what part of the label
// volume each changed, so that a view can redraw only that part instead of
// the whole slice. Its mutex also orders version numbers with the entries,
// so that an entry's version is exactly the version its change made.
type damageLog struct {
	mu      sync.Mutex
	entries [damageEntries]damage // a ring, newest at next-1
	next    int
	n       int // entries filled, up to damageEntries
}

// damageEntries bounds how far back a view may look: a view redraws at
// least once per frame, and a frame sees a few dozen changes at most.
const damageEntries = 64

// damage is one change: its version and the voxels it may have changed;
// an empty box means none that a view shows (a job's progress).
type damage struct {
	version uint64
	box     VoxelBox
}

// note adds a change with version v; the log's mutex is held.
func (l *damageLog) note(v uint64, box VoxelBox) {
	l.entries[l.next] = damage{version: v, box: box}
	l.next = (l.next + 1) % damageEntries
	l.n = min(l.n+1, damageEntries)
}

// changedIn tells listeners of change c. box, when not nil, holds every
// voxel the change altered and says that nothing else a view draws
// changed: DamageSince can then answer for it. Changes of jobs and models
// alone alter nothing a view draws.
func (s *Session) changedIn(c Change, box *VoxelBox) {
	if c == 0 {
		return
	}
	s.damage.mu.Lock()
	v := s.version.Add(1)
	switch {
	case box != nil:
		s.damage.note(v, *box)
	case c&^(ChangeJobs|ChangeModels) == 0:
		s.damage.note(v, VoxelBox{})
	}
	s.damage.mu.Unlock()
	if s.opts.OnChange != nil {
		s.opts.OnChange(c)
	}
	s.watchers.notify(c)
}

// DamageSince returns the voxels that changed after version since (a
// value Version returned), and true, when every change since then was a
// label edit of known extent or one that alters nothing drawn; false when
// some other change (a new scan, the window, the cursor, an undo) happened
// or since is too old to know, and a view must redraw whole. The box may be
// empty: nothing drawn changed.
func (s *Session) DamageSince(since uint64) (VoxelBox, bool) {
	s.damage.mu.Lock()
	defer s.damage.mu.Unlock()
	cur := s.version.Load()
	if since > cur {
		return VoxelBox{}, false
	}
	want := cur - since
	if want > uint64(s.damage.n) {
		return VoxelBox{}, false
	}
	var box VoxelBox
	found := uint64(0)
	for n := 0; n < s.damage.n; n++ {
		e := s.damage.entries[(s.damage.next-1-n+2*damageEntries)%damageEntries]
		if e.version <= since {
			break
		}
		box = box.Union(e.box)
		found++
	}
	// Versions are consecutive: the changes since are all in the log only
	// if as many entries are newer than since as versions were made.
	if found != want {
		return VoxelBox{}, false
	}
	return box, true
}
