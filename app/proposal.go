package app

import (
	"slices"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/volume"
)

// Proposal holds a preview's proposed label values on the scan's grid, one
// plane of the data's third axis (an axial slice, as most scans are
// stored) at a time, a plane made
// when a value is first written into it. A box's, a slice's or clicks'
// preview so costs a plane (512 KB for 512×512) rather than a volume (157
// MB for 512×512×300, docs/benchmarks.md, memory), and a propagation only
// the planes it decided.
type Proposal struct {
	grid   volume.Grid
	nxy    int
	planes [][]uint16 // nil: every voxel of the plane is 0
	// shared marks the planes a clone shares with its original: the
	// first write into one copies it. Nil: none is shared.
	shared []bool
}

// newProposal returns an empty proposal on grid g.
func newProposal(g volume.Grid) *Proposal {
	return &Proposal{grid: g, nxy: g.Dims[0] * g.Dims[1], planes: make([][]uint16, g.Dims[2])}
}

// proposalOf returns a proposal holding l's voxels. Its planes share l's
// memory (l is the model's result, owned by the preview from then on);
// planes without a non-zero voxel are dropped.
func proposalOf(l *volume.Labels) *Proposal {
	p := newProposal(l.Grid)
	for z := range p.planes {
		pl := l.Data[z*p.nxy : (z+1)*p.nxy : (z+1)*p.nxy]
		for _, x := range pl {
			if x != 0 {
				p.planes[z] = pl
				break
			}
		}
	}
	return p
}

// Grid returns the scan's grid the proposal lies on.
func (p *Proposal) Grid() volume.Grid { return p.grid }

// At returns the value proposed at data index i (0: none); i must be
// within the grid.
func (p *Proposal) At(i int) uint16 {
	if pl := p.planes[i/p.nxy]; pl != nil {
		return pl[i%p.nxy]
	}
	return 0
}

// set proposes v at data index i.
func (p *Proposal) set(i int, v uint16) {
	z := i / p.nxy
	pl := p.planes[z]
	switch {
	case pl == nil:
		if v == 0 {
			return
		}
		pl = make([]uint16, p.nxy)
		p.planes[z] = pl
	case p.shared != nil && p.shared[z]:
		pl = append([]uint16(nil), pl...)
		p.planes[z], p.shared[z] = pl, false
	}
	pl[i%p.nxy] = v
}

// clone returns a copy of p that writes into either leave the other as it
// is. They share their planes until one is written (copy on write): a
// propagation run again over a span, or clicks that may be taken back,
// keep a copy of a preview most of whose planes never change.
func (p *Proposal) clone() *Proposal {
	c := &Proposal{grid: p.grid, nxy: p.nxy, planes: slices.Clone(p.planes), shared: make([]bool, len(p.planes))}
	if p.shared == nil {
		p.shared = make([]bool, len(p.planes))
	}
	for z, pl := range p.planes {
		if pl != nil {
			p.shared[z], c.shared[z] = true, true
		}
	}
	return c
}

// mask returns the pixels of axial slice k of sl where value is proposed.
func (p *Proposal) mask(sl *section.Slicer, k int, value uint16) (*section.Mask, error) {
	if err := sl.CheckSlice(k); err != nil {
		return nil, err
	}
	m := section.NewMask(sl.Rows, sl.Cols)
	sl.Each(k, func(i, idx int) { m.Data[i] = p.At(idx) == value })
	return m, nil
}

// bytes returns the memory its planes take.
func (p *Proposal) bytes() int {
	n := 0
	for _, pl := range p.planes {
		n += 2 * len(pl)
	}
	return n
}

// Labels returns a copy of the proposal as a label volume: it costs the
// volume's memory, for a caller that needs every voxel at once.
func (p *Proposal) Labels() *volume.Labels {
	l := volume.NewLabels(p.grid)
	for z, pl := range p.planes {
		copy(l.Data[z*p.nxy:], pl)
	}
	return l
}
