package onnxgraph

import (
	"errors"
	"fmt"
	"math"
	"strings"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
)

// SliceStrategy says which operator replaces a Slice with constant
// parameters along one axis.
type SliceStrategy string

const (
	// SliceAsSplit uses Split where the axis length is known and the step
	// is 1 (the replacement measured to run on ONNX Runtime 1.29's CUDA
	// plugin), and Gather with constant indices elsewhere.
	SliceAsSplit SliceStrategy = "split"
	// SliceAsGather always uses Gather with constant indices.
	SliceAsGather SliceStrategy = "gather"
)

// SliceInfo is what a rewrite needs to know about one Slice's data input,
// measured by running the model: its dimensions, and whether each is the
// same in every run (dimensions that follow a dynamic input are not).
type SliceInfo struct {
	Dims   []int64
	Static []bool
}

// ErrSlice marks a Slice that cannot be rewritten safely.
var ErrSlice = errors.New("onnx: slice cannot be rewritten")

// maxIndices bounds the constant index vector one Gather gets.
const maxIndices = 1 << 20

// ReplaceSlices replaces every Slice of m's main graph by Split, Gather or,
// for a single axis whose end is computed at run time, Gather of a Range.
// info gives each Slice's data input (by value name). Parameters must be
// constants (Constants: initializers or Constant nodes), except that
// dynamic ends are accepted when dynamicEnds is set; such a Slice is only
// equivalent while the end lies in 0..length at run time (Gather fails
// where Slice would clamp), which the caller must check (inference checks
// the rewritten model against the original). It returns how many Slices
// were replaced.
func ReplaceSlices(m *pb.ModelProto, info map[string]SliceInfo, strategy SliceStrategy, dynamicEnds bool) (int, error) {
	g := m.GetGraph()
	opset := Opset(m)
	consts := Constants(g)
	r := newRewriter(g, opset)
	var out []*pb.NodeProto
	replaced := 0
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Slice" || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") {
			out = append(out, n)
			continue
		}
		nodes, err := r.slice(n, consts, info, strategy, dynamicEnds)
		if err != nil {
			return replaced, fmt.Errorf("%w: node %q: %w", ErrSlice, n.GetName(), err)
		}
		out = append(out, nodes...)
		replaced++
	}
	g.Node = out
	g.Initializer = append(g.Initializer, r.inits...)
	return replaced, nil
}

type rewriter struct {
	g     *pb.GraphProto
	opset int64
	taken map[string]bool
	inits []*pb.TensorProto
}

// newRewriter returns a rewriter of g that knows every name g uses
// (nodes, their outputs, initializers, inputs), so that the names it makes
// never collide with them.
func newRewriter(g *pb.GraphProto, opset int64) *rewriter {
	r := &rewriter{g: g, opset: opset, taken: map[string]bool{}}
	for _, n := range g.GetNode() {
		r.taken[n.GetName()] = true
		for _, o := range n.GetOutput() {
			r.taken[o] = true
		}
	}
	for _, t := range g.GetInitializer() {
		r.taken[t.GetName()] = true
	}
	for _, in := range g.GetInput() {
		r.taken[in.GetName()] = true
	}
	return r
}

// name returns an unused value or node name built from base.
func (r *rewriter) name(base string) string {
	n := base
	for i := 1; r.taken[n]; i++ {
		n = fmt.Sprintf("%s_%d", base, i)
	}
	r.taken[n] = true
	return n
}

func (r *rewriter) constInts(name string, dims []int64, vals []int64) string {
	n := r.name(name)
	r.inits = append(r.inits, Int64Tensor(n, dims, vals))
	return n
}

// sliceParams reads starts, ends, axes and steps from a Slice node: inputs
// from opset 10, attributes before. A nil ends with endsName set means the
// ends are computed at run time.
func sliceParams(n *pb.NodeProto, opset int64, consts map[string]*pb.TensorProto) (starts, ends, axes, steps []int64, endsName string, err error) {
	if opset < 10 {
		for _, a := range n.GetAttribute() {
			switch a.GetName() {
			case "starts":
				starts = a.GetInts()
			case "ends":
				ends = a.GetInts()
			case "axes":
				axes = a.GetInts()
			}
		}
	} else {
		in := n.GetInput()
		get := func(i int) ([]int64, bool, error) {
			if i >= len(in) || in[i] == "" {
				return nil, false, nil
			}
			t, ok := consts[in[i]]
			if !ok {
				return nil, true, nil
			}
			v, err := Ints(t)
			return v, false, err
		}
		var dyn bool
		if starts, dyn, err = get(1); err != nil || dyn {
			return nil, nil, nil, nil, "", fmt.Errorf("starts %q are not a constant (%v)", in[1], err)
		}
		if ends, dyn, err = get(2); err != nil {
			return nil, nil, nil, nil, "", err
		} else if dyn {
			endsName = in[2]
		}
		if axes, dyn, err = get(3); err != nil || dyn {
			return nil, nil, nil, nil, "", fmt.Errorf("axes %q are not a constant (%v)", in[3], err)
		}
		if steps, dyn, err = get(4); err != nil || dyn {
			return nil, nil, nil, nil, "", fmt.Errorf("steps %q are not a constant (%v)", in[4], err)
		}
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if steps == nil {
		for range starts {
			steps = append(steps, 1)
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) || (endsName == "" && len(ends) != len(starts)) {
		return nil, nil, nil, nil, "", fmt.Errorf("starts, ends, axes and steps differ in length")
	}
	return starts, ends, axes, steps, endsName, nil
}

// indexRange resolves one axis of a Slice as ONNX defines it (negative
// values count from the end, then clamping) into the indices it selects.
// dim < 0 means the length is not known: then only 0 <= start <= end with
// a positive step can be resolved, and the result is right as long as end
// does not exceed the run-time length.
func indexRange(start, end, step, dim int64) ([]int64, error) {
	if step == 0 {
		return nil, errors.New("step 0")
	}
	if dim < 0 {
		// INT64_MAX-like ends mean "to the end", which needs the length.
		if step < 0 || start < 0 || end < 0 || end >= math.MaxInt32 {
			return nil, fmt.Errorf("start %d, end %d, step %d need the axis length, which varies", start, end, step)
		}
		if end < start {
			end = start
		}
	} else {
		if start < 0 {
			start += dim
		}
		if end < 0 {
			end += dim
		}
		if step > 0 {
			start, end = clamp(start, 0, dim), clamp(end, 0, dim)
		} else {
			start, end = clamp(start, 0, dim-1), clamp(end, -1, dim-1)
		}
	}
	var idx []int64
	for i := start; (step > 0 && i < end) || (step < 0 && i > end); i += step {
		if len(idx) >= maxIndices {
			return nil, fmt.Errorf("more than %d indices", maxIndices)
		}
		idx = append(idx, i)
	}
	return idx, nil
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }

// slice returns the nodes that replace Slice node n.
func (r *rewriter) slice(n *pb.NodeProto, consts map[string]*pb.TensorProto, info map[string]SliceInfo, strategy SliceStrategy, dynamicEnds bool) ([]*pb.NodeProto, error) {
	if len(n.GetInput()) == 0 || len(n.GetOutput()) != 1 {
		return nil, errors.New("want one data input and one output")
	}
	data, out := n.GetInput()[0], n.GetOutput()[0]
	si, ok := info[data]
	if !ok {
		return nil, fmt.Errorf("no measured shape for its input %q", data)
	}
	rank := int64(len(si.Dims))
	starts, ends, axes, steps, endsName, err := sliceParams(n, r.opset, consts)
	if err != nil {
		return nil, err
	}
	base := strings.TrimLeft(n.GetName(), "/")
	if base == "" {
		base = out
	}
	base = "polyseg_noslice/" + base
	var nodes []*pb.NodeProto
	cur := data
	if endsName != "" {
		// The one dynamic form the SAM decoder has: x[..., s:e] with e
		// computed from an input (orig_im_size).
		if !dynamicEnds {
			return nil, fmt.Errorf("ends %q are computed at run time", endsName)
		}
		if len(axes) != 1 || steps[0] != 1 || starts[0] < 0 || r.opset < 13 {
			return nil, fmt.Errorf("computed ends need one axis, step 1, a start >= 0 and opset 13 or later")
		}
		axis := axes[0]
		if axis < 0 {
			axis += rank
		}
		end := r.name(base + "/end")
		idx := r.name(base + "/indices")
		nodes = append(nodes,
			node(r.name(base+"/Squeeze"), "Squeeze", []string{endsName, r.constInts(base+"/squeeze_axes", []int64{1}, []int64{0})}, []string{end}),
			node(r.name(base+"/Range"), "Range", []string{r.constInts(base+"/start", nil, starts[:1]), end, r.constInts(base+"/step", nil, []int64{1})}, []string{idx}),
			withInt(node(r.name(base+"/Gather"), "Gather", []string{cur, idx}, []string{out}), "axis", axis))
		return nodes, nil
	}
	type step struct {
		axis int64
		idx  []int64
		dim  int64
	}
	var todo []step
	for i := range starts {
		axis := axes[i]
		if axis < 0 {
			axis += rank
		}
		if axis < 0 || axis >= rank {
			return nil, fmt.Errorf("axis %d out of range for rank %d", axes[i], rank)
		}
		dim := int64(-1)
		if si.Static[axis] {
			dim = si.Dims[axis]
		}
		idx, err := indexRange(starts[i], ends[i], steps[i], dim)
		if err != nil {
			return nil, fmt.Errorf("axis %d: %w", axis, err)
		}
		if dim >= 0 && steps[i] == 1 && int64(len(idx)) == dim {
			continue // the whole axis: nothing to do
		}
		todo = append(todo, step{axis, idx, dim})
	}
	if len(todo) == 0 {
		// A Slice that keeps everything: a Split into one part copies its
		// input whatever the shape, and runs wherever Split does.
		return []*pb.NodeProto{r.split(base, data, out, 0, nil, 0)}, nil
	}
	for i, st := range todo {
		dst := out
		if i < len(todo)-1 {
			dst = r.name(fmt.Sprintf("%s/axis%d", base, st.axis))
		}
		contiguous := len(st.idx) > 0 && st.idx[len(st.idx)-1]-st.idx[0] == int64(len(st.idx)-1)
		if strategy == SliceAsSplit && st.dim >= 0 && contiguous {
			lo, hi := st.idx[0], st.idx[len(st.idx)-1]+1
			var parts []int64
			keep := 0
			if lo > 0 {
				parts = append(parts, lo)
				keep = 1
			}
			parts = append(parts, hi-lo)
			if hi < st.dim {
				parts = append(parts, st.dim-hi)
			}
			nodes = append(nodes, r.split(base, cur, dst, st.axis, parts, keep))
		} else {
			ind := r.constInts(fmt.Sprintf("%s/indices%d", base, st.axis), []int64{int64(len(st.idx))}, st.idx)
			nodes = append(nodes, withInt(node(r.name(fmt.Sprintf("%s/Gather%d", base, st.axis)), "Gather", []string{cur, ind}, []string{dst}), "axis", st.axis))
		}
		cur = dst
	}
	return nodes, nil
}

// split returns a Split of src along axis into parts whose part keep is
// written to dst; the other parts get unused names. No parts means one part,
// the whole input.
func (r *rewriter) split(base, src, dst string, axis int64, parts []int64, keep int) *pb.NodeProto {
	outs := make([]string, max(len(parts), 1))
	for i := range outs {
		if i == keep {
			outs[i] = dst
		} else {
			outs[i] = r.name(fmt.Sprintf("%s/unused%d", base, i))
		}
	}
	inputs := []string{src}
	sp := node(r.name(fmt.Sprintf("%s/Split%d", base, axis)), "Split", inputs, outs)
	switch {
	case len(parts) == 0 && r.opset >= 18:
		sp = withInt(sp, "num_outputs", 1)
	case len(parts) == 0:
	case r.opset >= 13:
		sp.Input = append(sp.Input, r.constInts(base+"/split", []int64{int64(len(parts))}, parts))
	default:
		sp.Attribute = append(sp.Attribute, &pb.AttributeProto{Name: "split", Type: pb.AttributeProto_INTS, Ints: parts})
	}
	return withInt(sp, "axis", axis)
}

func node(name, op string, in, out []string) *pb.NodeProto {
	return &pb.NodeProto{Name: name, OpType: op, Input: in, Output: out}
}

func withInt(n *pb.NodeProto, attr string, v int64) *pb.NodeProto {
	n.Attribute = append(n.Attribute, &pb.AttributeProto{Name: attr, Type: pb.AttributeProto_INT, I: v})
	return n
}
