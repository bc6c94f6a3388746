package onnxgraph

import (
	"errors"
	"slices"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

func TestIndexRange(t *testing.T) {
	const big = 1<<63 - 1
	tests := []struct {
		name                  string
		start, end, step, dim int64
		want                  []int64
		err                   bool
	}{
		{"prefix", 0, 3, 1, 5, []int64{0, 1, 2}, false},
		{"to the end", 2, big, 1, 5, []int64{2, 3, 4}, false},
		{"negative start", -2, big, 1, 5, []int64{3, 4}, false},
		{"negative end", 0, -1, 1, 4, []int64{0, 1, 2}, false},
		{"end clamped", 1, 9, 1, 4, []int64{1, 2, 3}, false},
		{"empty", 0, 0, 1, 4, nil, false},
		{"start past end", 3, 1, 1, 4, nil, false},
		{"step 2", 0, 5, 2, 5, []int64{0, 2, 4}, false},
		{"reversed", -1, -big, -1, 3, []int64{2, 1, 0}, false},
		{"unknown length", 1, 5, 1, -1, []int64{1, 2, 3, 4}, false},
		{"unknown length, to the end", 1, big, 1, -1, nil, true},
		{"unknown length, negative", -1, 5, 1, -1, nil, true},
		{"step 0", 0, 1, 0, 3, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := indexRange(tc.start, tc.end, tc.step, tc.dim)
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestInts(t *testing.T) {
	raw := Int64Tensor("x", []int64{2}, []int64{-3, 7})
	i32 := &pb.TensorProto{Dims: []int64{3}, DataType: int32(pb.TensorProto_INT32), Int32Data: []int32{1, -2, 3}}
	short := Int64Tensor("s", []int64{3}, []int64{1, 2})
	float := &pb.TensorProto{Dims: []int64{1}, DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{1}}
	neg := Int64Tensor("n", []int64{-1}, nil)
	tests := []struct {
		name string
		t    *pb.TensorProto
		want []int64
		err  bool
	}{
		{"int64 raw", raw, []int64{-3, 7}, false},
		{"int32 field", i32, []int64{1, -2, 3}, false},
		{"fewer bytes than dims", short, nil, true},
		{"float", float, nil, true},
		{"negative dimension", neg, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Ints(tc.t)
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v (error %v)", got, err, tc.want, tc.err)
			}
			if err != nil && !errors.Is(err, ErrFormat) {
				t.Errorf("error %v is not ErrFormat", err)
			}
		})
	}
}

// model builds a one-input graph: x -> nodes -> the given outputs.
func model(opset int64, dims []int64, nodes []*pb.NodeProto, inits []*pb.TensorProto, outputs ...string) *pb.ModelProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		dim := &pb.TensorShapeProto_Dimension{}
		if d < 0 {
			dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "n"}
		} else {
			dim.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	in := &pb.ValueInfoProto{Name: "x", Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: int32(pb.TensorProto_FLOAT), Shape: shape}}}}
	g := &pb.GraphProto{Name: "g", Node: nodes, Initializer: inits, Input: []*pb.ValueInfoProto{in}}
	for _, o := range outputs {
		g.Output = append(g.Output, &pb.ValueInfoProto{Name: o})
	}
	return &pb.ModelProto{IrVersion: 8, Graph: g,
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: "", Version: opset}}}
}

func TestStaticValuesAndPrune(t *testing.T) {
	m := model(17, []int64{-1, 4}, []*pb.NodeProto{
		node("s", "Shape", []string{"x"}, []string{"shape"}),
		node("g", "Gather", []string{"shape", "one"}, []string{"cols"}),
		node("r", "Relu", []string{"x"}, []string{"y"}),
		node("dead", "Neg", []string{"x"}, []string{"unused"}),
	}, []*pb.TensorProto{Int64Tensor("one", nil, []int64{1})}, "y", "cols")
	s := StaticValues(m)
	if s.Value["shape"] || s.Value["cols"] || !s.Shape["shape"] || s.Shape["y"] {
		t.Errorf("dynamic batch: static %+v", s)
	}
	FixDims(m, map[string]int64{"n": 2})
	s = StaticValues(m)
	if !s.Value["shape"] || !s.Value["cols"] || !s.Shape["y"] || s.Value["y"] {
		t.Errorf("fixed batch: static %+v", s)
	}
	// cols is a graph output: not a candidate; shape feeds the Gather.
	if got := FoldCandidates(m, s); !slices.Equal(got, []string{"shape"}) {
		t.Errorf("fold candidates %v", got)
	}
	if n := Prune(m); n != 1 || OpTypes(m)["Neg"] != 0 {
		t.Errorf("pruned %d nodes, ops %v", n, OpTypes(m))
	}
}

// Slices with constant parameters become Split (step 1, known length) or
// Gather; the graph keeps its outputs, and none stays a Slice.
func TestReplaceSlices(t *testing.T) {
	tests := []struct {
		name     string
		opset    int64
		starts   []int64
		ends     []int64
		axes     []int64
		steps    []int64
		strategy SliceStrategy
		wantOps  map[string]int
	}{
		{"middle as split", 17, []int64{1}, []int64{3}, []int64{1}, nil, SliceAsSplit, map[string]int{"Split": 1}},
		{"middle as split, attribute form", 12, []int64{1}, []int64{3}, []int64{1}, nil, SliceAsSplit, map[string]int{"Split": 1}},
		{"middle as gather", 17, []int64{1}, []int64{3}, []int64{1}, nil, SliceAsGather, map[string]int{"Gather": 1}},
		{"two axes", 17, []int64{0, 1}, []int64{1, 2}, []int64{0, 1}, nil, SliceAsSplit, map[string]int{"Split": 2}},
		{"step 2", 17, []int64{0}, []int64{4}, []int64{1}, []int64{2}, SliceAsSplit, map[string]int{"Gather": 1}},
		{"whole axis", 17, []int64{0}, []int64{1 << 40}, []int64{1}, nil, SliceAsSplit, map[string]int{"Split": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sl := node("sl", "Slice", []string{"x", "starts", "ends", "axes"}, []string{"y"})
			inits := []*pb.TensorProto{
				Int64Tensor("starts", []int64{int64(len(tc.starts))}, tc.starts),
				Int64Tensor("ends", []int64{int64(len(tc.ends))}, tc.ends),
				Int64Tensor("axes", []int64{int64(len(tc.axes))}, tc.axes),
			}
			if tc.steps != nil {
				sl.Input = append(sl.Input, "steps")
				inits = append(inits, Int64Tensor("steps", []int64{1}, tc.steps))
			}
			m := model(tc.opset, []int64{2, 4}, []*pb.NodeProto{sl}, inits, "y")
			n, err := ReplaceSlices(m, map[string]SliceInfo{"x": {Dims: []int64{2, 4}, Static: []bool{true, true}}}, tc.strategy, false)
			if err != nil || n != 1 {
				t.Fatalf("replaced %d, %v", n, err)
			}
			ops := OpTypes(m)
			for op, want := range tc.wantOps {
				if ops[op] != want {
					t.Errorf("%s: %d nodes, want %d (all: %v)", op, ops[op], want, ops)
				}
			}
			if ops["Slice"] != 0 {
				t.Errorf("a Slice is left: %v", ops)
			}
			last := m.GetGraph().GetNode()[len(m.GetGraph().GetNode())-1]
			if !slices.Contains(last.GetOutput(), "y") {
				t.Errorf("the last node %s does not write y", last.GetName())
			}
			if tc.opset < 13 && ops["Split"] > 0 && len(m.GetGraph().GetNode()[0].GetInput()) != 1 {
				t.Errorf("opset %d Split takes its parts as an attribute", tc.opset)
			}
		})
	}
}

// A Slice whose parameters are computed at run time is refused, except a
// single dynamic end when allowed; one with a varying length and "to the
// end" is refused too.
func TestReplaceSlicesRefuses(t *testing.T) {
	dyn := model(17, []int64{2, 4}, []*pb.NodeProto{
		node("s", "Shape", []string{"x"}, []string{"shape"}),
		node("sl", "Slice", []string{"x", "zero", "shape", "zero"}, []string{"y"}),
	}, []*pb.TensorProto{Int64Tensor("zero", []int64{1}, []int64{0})}, "y")
	info := map[string]SliceInfo{"x": {Dims: []int64{2, 4}, Static: []bool{true, true}}}
	if _, err := ReplaceSlices(proto.Clone(dyn).(*pb.ModelProto), info, SliceAsSplit, false); !errors.Is(err, ErrSlice) {
		t.Errorf("computed ends: %v, want ErrSlice", err)
	}
	m := proto.Clone(dyn).(*pb.ModelProto)
	if _, err := ReplaceSlices(m, info, SliceAsSplit, true); err != nil {
		t.Errorf("computed ends allowed: %v", err)
	} else if ops := OpTypes(m); ops["Range"] != 1 || ops["Gather"] != 1 || ops["Slice"] != 0 {
		t.Errorf("computed ends: ops %v, want Squeeze, Range, Gather", ops)
	}
	varying := model(17, []int64{-1, 4}, []*pb.NodeProto{node("sl", "Slice", []string{"x", "one", "big", "zero"}, []string{"y"})},
		[]*pb.TensorProto{Int64Tensor("zero", []int64{1}, []int64{0}), Int64Tensor("one", []int64{1}, []int64{1}), Int64Tensor("big", []int64{1}, []int64{1 << 62})}, "y")
	vinfo := map[string]SliceInfo{"x": {Dims: []int64{2, 4}, Static: []bool{false, true}}}
	if _, err := ReplaceSlices(varying, vinfo, SliceAsSplit, true); !errors.Is(err, ErrSlice) {
		t.Errorf("varying length to the end: %v, want ErrSlice", err)
	}
}

// Encode writes the same bytes for the same model, and Decode reads them
// back.
func TestEncodeRoundTrip(t *testing.T) {
	m := model(17, []int64{2}, []*pb.NodeProto{node("r", "Relu", []string{"x"}, []string{"y"})}, nil, "y")
	a, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Encode(proto.Clone(m).(*pb.ModelProto))
	if string(a) != string(b) {
		t.Errorf("two encodings differ")
	}
	back, err := Decode(a)
	if err != nil || !proto.Equal(back, m) {
		t.Errorf("round trip: %v", err)
	}
	if _, err := Decode([]byte("not a model")); !errors.Is(err, ErrFormat) {
		t.Errorf("garbage: %v, want ErrFormat", err)
	}
}

// Attributes holding their type's default value (axis 0, alpha 0.0, an
// empty string) come back with that value and their type, although proto3
// writes neither value; an attribute without a type is refused, since its
// value could not be told from its absence.
func TestEncodeDefaultValues(t *testing.T) {
	n := node("c", "Concat", []string{"x", "x"}, []string{"y"})
	n = withInt(n, "axis", 0)
	n.Attribute = append(n.Attribute,
		&pb.AttributeProto{Name: "alpha", Type: pb.AttributeProto_FLOAT, F: 0},
		&pb.AttributeProto{Name: "mode", Type: pb.AttributeProto_STRING, S: []byte{}})
	m := model(17, []int64{2}, []*pb.NodeProto{n}, nil, "y")
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	attrs := back.GetGraph().GetNode()[0].GetAttribute()
	want := []pb.AttributeProto_AttributeType{pb.AttributeProto_INT, pb.AttributeProto_FLOAT, pb.AttributeProto_STRING}
	if len(attrs) != len(want) {
		t.Fatalf("%d attributes back, want %d", len(attrs), len(want))
	}
	for i, a := range attrs {
		if a.GetType() != want[i] || a.GetI() != 0 || a.GetF() != 0 || len(a.GetS()) != 0 {
			t.Errorf("attribute %q: type %v, i %d, f %g, s %q", a.GetName(), a.GetType(), a.GetI(), a.GetF(), a.GetS())
		}
	}

	untyped := proto.Clone(m).(*pb.ModelProto)
	sub := model(17, []int64{2}, []*pb.NodeProto{{Name: "inner", OpType: "Relu", Attribute: []*pb.AttributeProto{{Name: "k", I: 0}}}}, nil).GetGraph()
	untyped.GetGraph().GetNode()[0].Attribute = append(untyped.GetGraph().GetNode()[0].Attribute,
		&pb.AttributeProto{Name: "body", Type: pb.AttributeProto_GRAPH, G: sub})
	if _, err := Encode(untyped); !errors.Is(err, ErrFormat) {
		t.Errorf("an attribute without a type in a subgraph: %v, want ErrFormat", err)
	}
}
