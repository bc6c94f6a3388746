package app

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/volume"
)

// A preview held by planes merges as the rule says on a whole volume:
// checked against the rule applied voxel by voxel to plain arrays, on
// random labels spanning several planes, with and without a scope.
func TestProposalMergeMatchesRule(t *testing.T) {
	g := volume.Grid{Dims: [3]int{5, 4, 6}, Affine: volume.Identity()}
	n := g.Len()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(emptyPlane int) []uint16 {
		d := make([]uint16, n)
		for i := range d {
			if i/20 != emptyPlane && rng.IntN(3) > 0 {
				d[i] = uint16(rng.IntN(4)) // 0..3
			}
		}
		return d
	}
	tests := []struct {
		name   string
		values []uint16
		scope  func() []uint32
	}{
		{"whole volume, one value", []uint16{2}, func() []uint32 { return nil }},
		{"whole volume, two values", []uint16{1, 3}, func() []uint32 { return nil }},
		{"scattered scope", []uint16{2}, func() []uint32 {
			var s []uint32
			for i := range n {
				if rng.IntN(2) == 0 {
					s = append(s, uint32(i))
				}
			}
			return s
		}},
		{"one plane", []uint16{3}, func() []uint32 {
			var s []uint32
			for i := uint32(40); i < 60; i++ {
				s = append(s, i)
			}
			return s
		}},
		{"empty scope", []uint16{1}, func() []uint32 { return []uint32{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, prop, scope := random(-1), random(4), tt.scope()
			want := slices.Clone(cur)
			in := map[uint16]bool{}
			for _, x := range tt.values {
				in[x] = true
			}
			decided := make([]bool, n)
			for i := range decided {
				decided[i] = scope == nil
			}
			for _, i := range scope {
				decided[i] = true
			}
			proposed := 0
			for i := range want {
				p := prop[i]
				if !decided[i] || !in[p] {
					p = 0
				}
				if p != 0 {
					proposed++
				}
				switch {
				case !decided[i]:
				case p != 0 && (want[i] == 0 || in[want[i]]):
					want[i] = p
				case p == 0 && in[want[i]]:
					want[i] = 0
				}
			}

			v := &volume.Volume{Grid: g, Data: make([]float32, n)}
			s := New(Options{AutosaveDir: t.TempDir()})
			defer s.Close()
			if err := s.SetVolume(v, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ReplaceLabels("start", &volume.Labels{Grid: g, Data: slices.Clone(cur)}); err != nil {
				t.Fatal(err)
			}
			pv := newPreview("test", v, proposalOf(&volume.Labels{Grid: g, Data: slices.Clone(prop)}), tt.values, -1, scope)
			if pv.info.Voxels != proposed {
				t.Errorf("preview counts %d voxels, want %d", pv.info.Voxels, proposed)
			}
			if err := s.setPreview(pv); err != nil {
				t.Fatal(err)
			}
			changed, err := s.AcceptPreview()
			if err != nil {
				t.Fatal(err)
			}
			if got := labelsOf(s); !slices.Equal(got, want) {
				t.Errorf("merged labels differ from the rule's:\ngot  %v\nwant %v", got, want)
			}
			if changed == 0 {
				return // no undo step
			}
			s.Undo()
			if got := labelsOf(s); !slices.Equal(got, cur) {
				t.Error("undo did not bring the labels back")
			}
		})
	}
}

// A slice's preview (a SAM box's, clicks') holds the slice, not a copy of
// the volume: making it, drawing it and accepting it allocate a small
// fraction of one label volume (docs/benchmarks.md, memory: on a
// 512×512×300 scan a volume is 157 MB).
func TestSlicePreviewAllocatesNoVolume(t *testing.T) {
	g := volume.Grid{Dims: [3]int{256, 256, 128}, Affine: volume.Identity()}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	s := New(Options{AutosaveDir: t.TempDir()})
	defer s.Close()
	if err := s.SetVolume(v, ""); err != nil {
		t.Fatal(err)
	}
	sl, err := section.NewSlicer(g, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	k := sl.Slices / 2
	m := section.NewMask(sl.Rows, sl.Cols)
	for r := 60; r < 180; r++ {
		for c := 40; c < 200; c++ {
			m.Data[r*sl.Cols+c] = true
		}
	}
	volumeBytes := uint64(2 * g.Len())

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pv := slicePreview("box", v, sl, k, m, 5, k)
	if err := s.setPreview(pv); err != nil {
		t.Fatal(err)
	}
	proposed := 0
	s.ReadPreview(func(p *Proposal) {
		for i := range g.Len() {
			if p.At(i) != 0 {
				proposed++
			}
		}
	})
	n, err := s.AcceptPreview()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if want := 120 * 160; n != want || proposed != want {
		t.Fatalf("preview proposed %d voxels and accepting changed %d, want %d", proposed, n, want)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > volumeBytes/8 {
		t.Errorf("a slice's preview, shown and accepted, allocated %d bytes; a label volume is %d", got, volumeBytes)
	}
}

// A clone and its original share planes until one is written: each write
// lands in its own proposal only, and the planes neither wrote stay one.
func TestProposalCloneCopiesOnWrite(t *testing.T) {
	g := volume.Grid{Dims: [3]int{4, 3, 3}, Affine: volume.Identity()}
	p := newProposal(g)
	nxy := 12
	p.set(0*nxy+1, 5)
	p.set(1*nxy+2, 5)
	c := p.clone()
	c.set(0*nxy+1, 7) // plane 0 in the clone
	p.set(1*nxy+3, 9) // plane 1 in the original
	c.set(2*nxy+0, 3) // a plane neither had
	for _, tc := range []struct {
		name string
		pr   *Proposal
		i    int
		want uint16
	}{
		{"original, plane 0", p, 0*nxy + 1, 5},
		{"clone, plane 0", c, 0*nxy + 1, 7},
		{"original, plane 1", p, 1*nxy + 3, 9},
		{"clone, plane 1", c, 1*nxy + 3, 0},
		{"clone, plane 1 before", c, 1*nxy + 2, 5},
		{"original, plane 2", p, 2*nxy + 0, 0},
		{"clone, plane 2", c, 2*nxy + 0, 3},
	} {
		if got := tc.pr.At(tc.i); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	q := p.clone()
	if &q.planes[0][0] != &p.planes[0][0] {
		t.Error("an unwritten plane of a clone is a copy, not shared")
	}
	// A clone of a clone: writes stay apart three ways.
	q.set(0*nxy+1, 1)
	if p.At(0*nxy+1) != 5 || c.At(0*nxy+1) != 7 || q.At(0*nxy+1) != 1 {
		t.Error("a write into a clone of a clone reached another")
	}
}
