package onnxgraph

import (
	pb "github.com/advancedclimatesystems/gonnx/onnx"
)

// Static says, per value name, whether the value's shape and its contents
// are the same for every run of the model: shapes follow from graph inputs
// whose dimensions are all numbers, contents from constants and from the
// shapes of static-shaped values (Shape, Size).
type Static struct {
	Shape map[string]bool
	Value map[string]bool
}

// shapeOnlyOps compute output shapes from their inputs' shapes alone (with
// their attributes): their outputs have static shapes when every input
// has.
var shapeOnlyOps = setOf(
	"Abs", "Acos", "Add", "And", "ArgMax", "ArgMin", "Asin", "Atan", "AveragePool", "BatchNormalization",
	"Cast", "CastLike", "Ceil", "Celu", "Clip", "Concat", "Conv", "ConvTranspose", "Cos", "Cosh",
	"DepthToSpace", "Div", "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp", "Flatten", "Floor",
	"Gather", "GatherElements", "GatherND", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater",
	"GreaterOrEqual", "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "IsInf", "IsNaN",
	"LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "LpNormalization",
	"MatMul", "Max", "MaxPool", "Mean", "Min", "Mish", "Mod", "Mul", "Neg", "Not", "Or", "PRelu", "Pow",
	"Reciprocal", "Relu", "Round", "ScatterElements", "ScatterND", "Selu", "Shape", "Sigmoid", "Sign",
	"Sin", "Sinh", "Size", "Softmax", "Softplus", "Softsign", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tan",
	"Tanh", "ThresholdedRelu", "Transpose", "Trilu", "Where", "Xor",
)

// valueShapedOps take part of their output shape from the contents of the
// inputs listed (by index): those must be static too. Axes given as inputs
// (Split, Squeeze, Unsqueeze and the reductions from their later opsets)
// count as such.
var valueShapedOps = map[string][]int{
	"Reshape": {1}, "Expand": {1}, "ConstantOfShape": {0}, "Tile": {1}, "Slice": {1, 2, 3, 4},
	"Pad": {1, 3}, "Resize": {1, 2, 3}, "Upsample": {1}, "OneHot": {1}, "TopK": {1},
	"Split": {1}, "Squeeze": {1}, "Unsqueeze": {1},
	"ReduceMean": {1}, "ReduceSum": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "ReduceProd": {1},
	"ReduceL1": {1}, "ReduceL2": {1}, "ReduceLogSum": {1}, "ReduceLogSumExp": {1}, "ReduceSumSquare": {1},
}

// randomOps give other values on every run.
var randomOps = setOf("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli")

func setOf(names ...string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

// StaticValues works out which values of m's main graph are static. Ops
// outside the default domain, ops with subgraphs and ops not known here
// count as static only when every input's contents are (a conservative
// answer is always safe: it only means less is folded).
func StaticValues(m *pb.ModelProto) Static {
	g := m.GetGraph()
	s := Static{Shape: map[string]bool{}, Value: map[string]bool{}}
	consts := Constants(g)
	for name := range consts {
		s.Shape[name], s.Value[name] = true, true
	}
	for _, in := range g.GetInput() {
		if _, ok := consts[in.GetName()]; ok {
			continue
		}
		_, static := InputShape(in)
		s.Shape[in.GetName()] = static
	}
	for _, n := range g.GetNode() {
		op := n.GetOpType()
		if n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
			op = ""
		}
		if hasSubgraph(n) {
			op = ""
		}
		allShape, allValue := true, true
		for _, in := range n.GetInput() {
			if in == "" {
				continue
			}
			allShape = allShape && s.Shape[in]
			allValue = allValue && s.Value[in]
		}
		var shape, value bool
		switch {
		case op == "Constant":
			shape, value = true, true
		case op == "Shape" || op == "Size":
			// Their own shape is the input's rank (or a scalar), which
			// does not vary: ONNX values keep their rank.
			shape = true
			value = len(n.GetInput()) > 0 && s.Shape[n.GetInput()[0]]
		case shapeOnlyOps[op]:
			shape, value = allShape, allValue
		case valueShapedOps[op] != nil:
			shape = allShape
			for _, i := range valueShapedOps[op] {
				if i < len(n.GetInput()) && n.GetInput()[i] != "" {
					shape = shape && s.Value[n.GetInput()[i]]
				}
			}
			value = allValue
		case randomOps[op]:
			shape, value = allValue, false
		default:
			shape, value = allValue, allValue
		}
		for _, o := range n.GetOutput() {
			if o != "" {
				s.Shape[o], s.Value[o] = shape, value
			}
		}
	}
	return s
}

func hasSubgraph(n *pb.NodeProto) bool {
	for _, a := range n.GetAttribute() {
		if a.GetG() != nil || len(a.GetGraphs()) > 0 {
			return true
		}
	}
	return false
}

// FoldCandidates lists, in node order, the values worth replacing by
// constants: static contents computed by a node other than Constant, used
// by some node and not a graph output.
func FoldCandidates(m *pb.ModelProto, s Static) []string {
	g := m.GetGraph()
	used := map[string]bool{}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			used[in] = true
		}
		for _, name := range subgraphReads(n) {
			used[name] = true
		}
	}
	for _, o := range g.GetOutput() {
		delete(used, o.GetName())
	}
	var out []string
	for _, n := range g.GetNode() {
		if n.GetOpType() == "Constant" {
			continue
		}
		for _, o := range n.GetOutput() {
			if o != "" && s.Value[o] && used[o] {
				out = append(out, o)
			}
		}
	}
	return out
}

// Probe is a copy of a model that also outputs the shapes and contents of
// chosen values. onnxruntime_go cannot hand over scalars or empty tensors,
// so each shape comes out with a -1 appended and each value flattened with
// one zero appended: Shapes and Values name those outputs.
type Probe struct {
	Model          *pb.ModelProto
	Shapes, Values map[string]string // value name -> output name
}

// WithProbes returns a copy of m whose graph also outputs the shape of each
// value in shapes and the contents of each value in values.
func WithProbes(m *pb.ModelProto, shapes, values []string) Probe {
	c := cloneModel(m)
	g := c.GetGraph()
	r := newRewriter(g, Opset(c))
	p := Probe{Model: c, Shapes: map[string]string{}, Values: map[string]string{}}
	minus1 := r.constInts("polyseg_probe/minus1", []int64{1}, []int64{-1})
	pads := r.constInts("polyseg_probe/pads", []int64{2}, []int64{0, 1})
	output := func(name string) {
		g.Output = append(g.Output, &pb.ValueInfoProto{Name: name})
	}
	for _, x := range shapes {
		if _, ok := p.Shapes[x]; ok {
			continue
		}
		sh, out := r.name("polyseg_probe/shape/"+x), r.name("polyseg_probe/shape_out/"+x)
		g.Node = append(g.Node,
			node(r.name("polyseg_probe/Shape/"+x), "Shape", []string{x}, []string{sh}),
			withInt(node(r.name("polyseg_probe/Concat/"+x), "Concat", []string{sh, minus1}, []string{out}), "axis", 0))
		output(out)
		p.Shapes[x] = out
	}
	for _, x := range values {
		if _, ok := p.Values[x]; ok {
			continue
		}
		flat, out := r.name("polyseg_probe/flat/"+x), r.name("polyseg_probe/value_out/"+x)
		g.Node = append(g.Node,
			node(r.name("polyseg_probe/Reshape/"+x), "Reshape", []string{x, minus1}, []string{flat}),
			node(r.name("polyseg_probe/Pad/"+x), "Pad", []string{flat, pads}, []string{out}))
		output(out)
		p.Values[x] = out
	}
	g.Initializer = append(g.Initializer, r.inits...)
	return p
}
