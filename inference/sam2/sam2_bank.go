package sam2

import "fmt"

// sam2Memory is one slice in a memory bank: what the memory encoder made
// of its mask, and the decoder's object pointer for it.
type sam2Memory struct {
	slice   int
	feat    []float32 // maskmem_features, 64 x 64 x 64; nil once too old to attend to
	pos     []float32 // maskmem_pos_enc, 4096 x 64
	pointer []float32 // obj_ptr, 256
}

// sam2Bank is the memory of one chain, as SAM 2 keeps it for a video
// tracked from one prompted frame: the anchor is the conditioning frame,
// always attended to; of the slices the chain has decided since, the
// nearest `memories` give their mask memories and the nearest
// sam2MaxPointers-1 their object pointers.
type sam2Bank struct {
	cond     *sam2Memory
	recent   []*sam2Memory // in the order decided: the last is the nearest
	memories int
	temporal []float32 // the export's temporal code: slots x 64
}

func newSAM2Bank(cond *sam2Memory, memories int, temporal []float32) *sam2Bank {
	return &sam2Bank{cond: cond, memories: memories, temporal: temporal}
}

// push adds the memory of the slice just decided and drops what no later
// slice will attend to.
func (b *sam2Bank) push(m *sam2Memory) {
	b.recent = append(b.recent, m)
	if n := len(b.recent) - (sam2MaxPointers - 1); n > 0 {
		b.recent = b.recent[n:]
	}
	if n := len(b.recent) - b.memories; n > 0 {
		// Only the pointer of an older slice is still used.
		b.recent[n-1].feat, b.recent[n-1].pos = nil, nil
	}
}

// inputs lays the bank out for slice k as the export's memory attention
// takes it (src/Module.py), mirroring SAM 2's
// _prepare_memory_conditioned_features:
//
//   - memory_1: the conditioning frame's features first, then the recent
//     slices' from the farthest to the nearest;
//   - memory_pos_embed: each of those memories' positional encoding plus
//     its temporal code (the last slot for the conditioning frame, slot
//     d-1 for the slice d slices away), then 4 rows of zeros per object
//     pointer, which the graph fills with the pointers' own temporal
//     encodings;
//   - memory_0: the conditioning frame's pointer, then the recent slices'
//     from the nearest on, which the graph places 1, 2, 3 ... slices away
//     (so they must be consecutive slices, as a chain's are);
//   - cond_frame_id_diff: how many slices k is from the conditioning one.
func (b *sam2Bank) inputs(k int) (sam2Attention, error) {
	slots := len(b.temporal) / sam2MemDim
	dist := func(m *sam2Memory) int { return max(k-m.slice, m.slice-k) }
	type slotted struct {
		m    *sam2Memory
		slot int
	}
	mems := []slotted{{b.cond, slots - 1}}
	for i := max(len(b.recent)-b.memories, 0); i < len(b.recent); i++ {
		m := b.recent[i]
		d := dist(m)
		if d < 1 || d > slots-1 || m.feat == nil {
			return sam2Attention{}, fmt.Errorf("sam2: memory of slice %d is %d slices from slice %d, outside the %d recent slots", m.slice, d, k, slots-1)
		}
		mems = append(mems, slotted{m, d - 1})
	}
	ptrs := []*sam2Memory{b.cond}
	for i, j := len(b.recent)-1, 1; i >= 0; i, j = i-1, j+1 {
		m := b.recent[i]
		if dist(m) != j {
			return sam2Attention{}, fmt.Errorf("sam2: pointer of slice %d is %d slices from slice %d, the export places it %d away", m.slice, dist(m), k, j)
		}
		ptrs = append(ptrs, m)
	}

	const per = sam2MemDim * sam2Grid * sam2Grid
	a := sam2Attention{
		memories: make([]float32, 0, len(mems)*per),
		pos:      make([]float32, len(mems)*per+4*len(ptrs)*sam2MemDim), // pointer rows stay 0
		pointers: make([]float32, 0, len(ptrs)*sam2Channels),
		condDiff: float32(dist(b.cond)),
	}
	for i, s := range mems {
		a.memories = append(a.memories, s.m.feat...)
		code := b.temporal[s.slot*sam2MemDim : (s.slot+1)*sam2MemDim]
		dst := a.pos[i*per : (i+1)*per]
		for r := 0; r < per; r += sam2MemDim {
			for c, v := range s.m.pos[r : r+sam2MemDim] {
				dst[r+c] = v + code[c]
			}
		}
	}
	for _, m := range ptrs {
		a.pointers = append(a.pointers, m.pointer...)
	}
	return a, nil
}
