// Package onnxgraph reads, edits and writes ONNX models
// (https://onnx.ai/onnx/repo-docs/IR.html) as protobuf messages, the types
// github.com/advancedclimatesystems/gonnx/onnx generates from ONNX's
// onnx.proto3 (IR version 8; fields of later versions are kept as unknown
// fields and written back as they were): the operator census of a model, fixing symbolic dimensions, replacing values
// by constants, pruning dead nodes, and rewriting Slice nodes into
// operators an execution provider can run. It knows nothing of ONNX
// Runtime; the caller runs the model where a rewrite needs measured shapes
// or values (onnxrt.PrepareCUDA).
//
// # Security considerations
//
// Models are read whole into memory, at most MaxModelBytes, and decoded by
// google.golang.org/protobuf, which bounds nesting. Tensor payloads are
// read only where a rewrite needs their values, after their declared size
// has been checked against the bytes present.
package onnxgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

// MaxModelBytes bounds a model file: protobuf messages cannot exceed 2 GiB,
// and models that need external data files are not supported.
const MaxModelBytes = 2<<30 - 1

// ErrFormat marks a file that is not a usable ONNX model.
var ErrFormat = errors.New("onnx: invalid model")

// Read reads and decodes the ONNX model at path.
func Read(path string) (*pb.ModelProto, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if st.Size() > MaxModelBytes {
		return nil, fmt.Errorf("read %s: %w: %d bytes, more than protobuf's 2 GiB", path, ErrFormat, st.Size())
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, nil
}

// Decode decodes a serialised ModelProto.
func Decode(b []byte) (*pb.ModelProto, error) {
	var m pb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if m.GetGraph() == nil {
		return nil, fmt.Errorf("%w: no graph", ErrFormat)
	}
	for _, t := range m.GetGraph().GetInitializer() {
		if t.GetDataLocation() == pb.TensorProto_EXTERNAL {
			return nil, fmt.Errorf("%w: initializer %q lives in an external data file, which is not supported", ErrFormat, t.GetName())
		}
	}
	return &m, nil
}

// Encode serialises m deterministically: the same model gives the same
// bytes, so a rewritten model's sha256 can be recorded and checked.
//
// The messages are proto3 (generated from ONNX's onnx.proto3), which does
// not write a scalar holding its default: an attribute whose value is 0,
// 0.0 or "" is written as its name and type alone, and read back as that
// value because of its type, which ONNX requires from IR version 2 on.
// Encode refuses an attribute without a type, whose value would be lost.
func Encode(m *pb.ModelProto) ([]byte, error) {
	if err := checkAttributeTypes(m); err != nil {
		return nil, fmt.Errorf("onnx: encode model: %w", err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: encode model: %w", err)
	}
	return b, nil
}

// checkAttributeTypes fails on the first attribute, in any graph or
// function of m, whose type is UNDEFINED.
func checkAttributeTypes(m *pb.ModelProto) error {
	var walk func(where string, nodes []*pb.NodeProto) error
	walk = func(where string, nodes []*pb.NodeProto) error {
		for _, n := range nodes {
			for _, a := range n.GetAttribute() {
				if a.GetType() == pb.AttributeProto_UNDEFINED {
					return fmt.Errorf("%w: %s: node %q: attribute %q has no type", ErrFormat, where, n.GetName(), a.GetName())
				}
				if g := a.GetG(); g != nil {
					if err := walk(where+"/"+g.GetName(), g.GetNode()); err != nil {
						return err
					}
				}
				for _, g := range a.GetGraphs() {
					if err := walk(where+"/"+g.GetName(), g.GetNode()); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk("graph", m.GetGraph().GetNode()); err != nil {
		return err
	}
	for _, f := range m.GetFunctions() {
		if err := walk("function "+f.GetName(), f.GetNode()); err != nil {
			return err
		}
	}
	return nil
}

// Write writes m to path atomically.
func Write(path string, m *pb.ModelProto) error {
	b, err := Encode(m)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Opset returns the version of the default ("" or "ai.onnx") operator set
// the model imports, or 0 when it imports none.
func Opset(m *pb.ModelProto) int64 {
	for _, o := range m.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			return o.GetVersion()
		}
	}
	return 0
}

// OpTypes counts the nodes of each operator type in the main graph and in
// every subgraph (If, Loop and Scan bodies).
func OpTypes(m *pb.ModelProto) map[string]int {
	n := map[string]int{}
	var walk func(g *pb.GraphProto)
	walk = func(g *pb.GraphProto) {
		for _, node := range g.GetNode() {
			n[node.GetOpType()]++
			for _, a := range node.GetAttribute() {
				if a.GetG() != nil {
					walk(a.GetG())
				}
				for _, sg := range a.GetGraphs() {
					walk(sg)
				}
			}
		}
	}
	walk(m.GetGraph())
	return n
}

// FixDims replaces the symbolic dimensions named in dims (e.g.
// "batch_size": 1) by those sizes in the graph's inputs, outputs and value
// infos, and returns how many it replaced.
func FixDims(m *pb.ModelProto, dims map[string]int64) int {
	g := m.GetGraph()
	n := 0
	for _, list := range [][]*pb.ValueInfoProto{g.GetInput(), g.GetOutput(), g.GetValueInfo()} {
		for _, vi := range list {
			tt := vi.GetType().GetTensorType()
			if tt == nil || tt.GetShape() == nil {
				continue
			}
			for _, d := range tt.GetShape().GetDim() {
				if v, ok := dims[d.GetDimParam()]; ok && d.GetDimParam() != "" {
					d.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: v}
					n++
				}
			}
		}
	}
	return n
}

// InputShape returns the dimensions of graph input vi, -1 for a symbolic
// or unknown one, and whether every dimension is a number.
func InputShape(vi *pb.ValueInfoProto) ([]int64, bool) {
	sh := vi.GetType().GetTensorType().GetShape()
	if sh == nil {
		return nil, false
	}
	dims := make([]int64, len(sh.GetDim()))
	static := true
	for i, d := range sh.GetDim() {
		if v, ok := d.GetValue().(*pb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue >= 0 {
			dims[i] = v.DimValue
		} else {
			dims[i] = -1
			static = false
		}
	}
	return dims, static
}

// Constants returns the graph's constant tensors by name: its initializers
// (not those a graph input of the same name can override) and the outputs
// of its Constant nodes that hold a tensor or integers.
func Constants(g *pb.GraphProto) map[string]*pb.TensorProto {
	inputs := map[string]bool{}
	for _, in := range g.GetInput() {
		inputs[in.GetName()] = true
	}
	c := map[string]*pb.TensorProto{}
	for _, t := range g.GetInitializer() {
		if !inputs[t.GetName()] {
			c[t.GetName()] = t
		}
	}
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Constant" || n.GetDomain() != "" || len(n.GetOutput()) != 1 {
			continue
		}
		for _, a := range n.GetAttribute() {
			var t *pb.TensorProto
			switch a.GetName() {
			case "value":
				t = a.GetT()
			case "value_int":
				t = Int64Tensor("", nil, []int64{a.GetI()})
			case "value_ints":
				t = Int64Tensor("", []int64{int64(len(a.GetInts()))}, a.GetInts())
			}
			if t != nil {
				c[n.GetOutput()[0]] = t
			}
		}
	}
	return c
}

// Int64Tensor makes an int64 tensor of the given dimensions (nil: a
// scalar) holding vals, in raw little-endian form.
func Int64Tensor(name string, dims []int64, vals []int64) *pb.TensorProto {
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &pb.TensorProto{
		Name:     name,
		Dims:     append([]int64(nil), dims...),
		DataType: int32(pb.TensorProto_INT64),
		RawData:  raw,
	}
}

// NumElements returns the element count of t's dimensions, or an error
// when it is negative or overflows.
func NumElements(t *pb.TensorProto) (int64, error) {
	n := int64(1)
	for _, d := range t.GetDims() {
		if d < 0 || (d > 0 && n > math.MaxInt64/d) {
			return 0, fmt.Errorf("%w: tensor %q has dimensions %v", ErrFormat, t.GetName(), t.GetDims())
		}
		n *= d
	}
	return n, nil
}

// Ints returns the values of an integer tensor (int64, int32, int16, int8,
// uint8 or bool) as int64s.
func Ints(t *pb.TensorProto) ([]int64, error) {
	n, err := NumElements(t)
	if err != nil {
		return nil, err
	}
	dt := pb.TensorProto_DataType(t.GetDataType())
	raw := t.GetRawData()
	width := map[pb.TensorProto_DataType]int64{
		pb.TensorProto_INT64: 8, pb.TensorProto_INT32: 4, pb.TensorProto_INT16: 2,
		pb.TensorProto_INT8: 1, pb.TensorProto_UINT8: 1, pb.TensorProto_BOOL: 1,
	}[dt]
	if width == 0 {
		return nil, fmt.Errorf("%w: tensor %q is %v, not integers", ErrFormat, t.GetName(), dt)
	}
	out := make([]int64, 0, min(n, 1<<20))
	switch {
	case len(raw) > 0 || (n == 0 && len(t.GetInt64Data()) == 0 && len(t.GetInt32Data()) == 0):
		if int64(len(raw)) != n*width {
			return nil, fmt.Errorf("%w: tensor %q has %d bytes for %d values of %d bytes", ErrFormat, t.GetName(), len(raw), n, width)
		}
		for i := int64(0); i < n; i++ {
			b := raw[i*width:]
			switch dt {
			case pb.TensorProto_INT64:
				out = append(out, int64(binary.LittleEndian.Uint64(b)))
			case pb.TensorProto_INT32:
				out = append(out, int64(int32(binary.LittleEndian.Uint32(b))))
			case pb.TensorProto_INT16:
				out = append(out, int64(int16(binary.LittleEndian.Uint16(b))))
			case pb.TensorProto_INT8:
				out = append(out, int64(int8(b[0])))
			default:
				out = append(out, int64(b[0]))
			}
		}
	case dt == pb.TensorProto_INT64:
		out = append(out, t.GetInt64Data()...)
	default:
		// int32_data holds every narrower integer type and bool.
		for _, v := range t.GetInt32Data() {
			out = append(out, int64(v))
		}
	}
	if int64(len(out)) != n {
		return nil, fmt.Errorf("%w: tensor %q holds %d values for dimensions %v", ErrFormat, t.GetName(), len(out), t.GetDims())
	}
	return out, nil
}

// Producers maps each value name to the node that produces it.
func Producers(g *pb.GraphProto) map[string]*pb.NodeProto {
	p := map[string]*pb.NodeProto{}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o != "" {
				p[o] = n
			}
		}
	}
	return p
}

// Prune removes the nodes whose outputs no graph output needs, and the
// initializers and value infos nothing uses any more. It returns the number
// of nodes removed.
func Prune(m *pb.ModelProto) int {
	g := m.GetGraph()
	need := map[string]bool{}
	for _, o := range g.GetOutput() {
		need[o.GetName()] = true
	}
	keep := make([]bool, len(g.GetNode()))
	// Nodes are in topological order, so one backward pass finds every
	// node a graph output depends on. Subgraphs may read outer values by
	// name: count those as used by the node that holds the subgraph.
	for i := len(g.GetNode()) - 1; i >= 0; i-- {
		n := g.GetNode()[i]
		for _, o := range n.GetOutput() {
			if need[o] {
				keep[i] = true
			}
		}
		if !keep[i] {
			continue
		}
		for _, in := range n.GetInput() {
			need[in] = true
		}
		for _, name := range subgraphReads(n) {
			need[name] = true
		}
	}
	nodes := g.GetNode()[:0]
	removed := 0
	for i, n := range g.GetNode() {
		if keep[i] {
			nodes = append(nodes, n)
		} else {
			removed++
		}
	}
	g.Node = nodes
	inits := g.GetInitializer()[:0]
	for _, t := range g.GetInitializer() {
		if need[t.GetName()] {
			inits = append(inits, t)
		}
	}
	g.Initializer = inits
	vis := g.GetValueInfo()[:0]
	for _, vi := range g.GetValueInfo() {
		if need[vi.GetName()] {
			vis = append(vis, vi)
		}
	}
	g.ValueInfo = vis
	return removed
}

// subgraphReads lists every input name of every node in n's subgraphs.
func subgraphReads(n *pb.NodeProto) []string {
	var names []string
	var walk func(g *pb.GraphProto)
	walk = func(g *pb.GraphProto) {
		for _, sn := range g.GetNode() {
			names = append(names, sn.GetInput()...)
			for _, a := range sn.GetAttribute() {
				if a.GetG() != nil {
					walk(a.GetG())
				}
				for _, sg := range a.GetGraphs() {
					walk(sg)
				}
			}
		}
	}
	for _, a := range n.GetAttribute() {
		if a.GetG() != nil {
			walk(a.GetG())
		}
		for _, sg := range a.GetGraphs() {
			walk(sg)
		}
	}
	return names
}

// SetConstants makes each named value a constant: the tensor becomes an
// initializer of that name, and the value is no longer produced by its
// node (whose other outputs stay). Nodes left without a needed output go
// at the next Prune.
func SetConstants(m *pb.ModelProto, values map[string]*pb.TensorProto) {
	g := m.GetGraph()
	for _, n := range g.GetNode() {
		for i, o := range n.GetOutput() {
			if _, ok := values[o]; ok {
				// An empty name marks an unused optional output.
				n.Output[i] = ""
			}
		}
	}
	// Sorted, so that the written model does not depend on map order.
	names := slices.Sorted(maps.Keys(values))
	for _, name := range names {
		t := proto.Clone(values[name]).(*pb.TensorProto)
		t.Name = name
		g.Initializer = append(g.Initializer, t)
	}
	// A node all of whose outputs are gone cannot stay: ONNX requires
	// nodes to have at least their first output named.
	nodes := g.GetNode()[:0]
	for _, n := range g.GetNode() {
		live := false
		for _, o := range n.GetOutput() {
			live = live || o != ""
		}
		if live {
			nodes = append(nodes, n)
		}
	}
	g.Node = nodes
}

func cloneModel(m *pb.ModelProto) *pb.ModelProto { return proto.Clone(m).(*pb.ModelProto) }
