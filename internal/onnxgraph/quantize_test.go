package onnxgraph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
)

// quantModel is x[2,K] · W[K,N] + b, then x·W again with W shared, then a
// MatMul of two computed values (left alone).
func quantModel(opset int64, w []float32, k, n int64) *pb.ModelProto {
	nodes := []*pb.NodeProto{
		node("mm", "MatMul", []string{"x", "W"}, []string{"y"}),
		node("mm2", "MatMul", []string{"x", "W"}, []string{"y2"}),
		node("t", "Transpose", []string{"y"}, []string{"yt"}),
		node("mm3", "MatMul", []string{"y", "yt"}, []string{"z"}),
	}
	return model(opset, []int64{2, k}, nodes, []*pb.TensorProto{FloatTensor("W", []int64{k, n}, w)}, "y", "y2", "z")
}

func TestQuantizeMatMuls(t *testing.T) {
	const k, n = 16, 5
	rng := rand.New(rand.NewPCG(7, 9))
	w := make([]float32, k*n)
	for i := range w {
		// Columns of very different scales: per-column quantization keeps
		// the small one.
		w[i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(i%n-2)))
	}
	m := quantModel(13, w, k, n)
	st, err := QuantizeMatMuls(m)
	if err != nil {
		t.Fatal(err)
	}
	if st.MatMuls != 2 || st.Skipped != 1 || st.Weights != k*n {
		t.Errorf("stats %+v: want 2 MatMuls (one shared weight, quantized once) and 1 skipped", st)
	}
	ops := OpTypes(m)
	want := map[string]int{"DynamicQuantizeLinear": 2, "MatMulInteger": 2, "Cast": 2, "Mul": 4, "MatMul": 1, "Transpose": 1}
	for op, c := range want {
		if ops[op] != c {
			t.Errorf("%d %s nodes, want %d (all: %v)", ops[op], op, c, ops)
		}
	}
	g := m.GetGraph()
	consts := Constants(g)
	if _, ok := consts["W"]; ok {
		t.Error("the float weight is still in the graph")
	}
	// The outputs keep their names and the pattern is ONNX Runtime's:
	// MatMulInteger(A_q, B_q, A_zero, B_zero) -> Cast -> Mul(·, Mul(A_scale, B_scale)).
	prod := Producers(g)
	out := prod["y"]
	if out == nil || out.GetOpType() != "Mul" {
		t.Fatalf("y is made by %v, want the scale Mul", out)
	}
	cast, scales := prod[out.GetInput()[0]], prod[out.GetInput()[1]]
	if cast.GetOpType() != "Cast" || scales.GetOpType() != "Mul" || prod[cast.GetInput()[0]].GetOpType() != "MatMulInteger" {
		t.Fatalf("pattern %s <- %s, %s", out.GetOpType(), cast.GetOpType(), scales.GetOpType())
	}
	mi := prod[cast.GetInput()[0]]
	dq := prod[mi.GetInput()[0]]
	if dq.GetOpType() != "DynamicQuantizeLinear" || dq.GetInput()[0] != "x" || mi.GetInput()[2] != dq.GetOutput()[2] {
		t.Fatalf("MatMulInteger's A is not x quantized by DynamicQuantizeLinear")
	}
	if scales.GetInput()[0] != dq.GetOutput()[1] {
		t.Error("the scale product does not start with A's scale (ONNX Runtime's fusion wants A_scale, B_scale)")
	}
	if prod["y2"].GetInput()[1] == out.GetInput()[1] {
		t.Error("two MatMuls share one scale product: ONNX Runtime fuses only a Mul with one consumer")
	}
	bq, bz, bs := consts[mi.GetInput()[1]], consts[mi.GetInput()[3]], consts[scales.GetInput()[1]]
	if bq == nil || bz == nil || bs == nil {
		t.Fatal("B's quantized values, zero point or scale are not constants")
	}
	if pb.TensorProto_DataType(bq.GetDataType()) != pb.TensorProto_INT8 || !slices.Equal(bq.GetDims(), []int64{k, n}) ||
		!slices.Equal(bz.GetDims(), []int64{n}) || !slices.Equal(bs.GetDims(), []int64{n}) {
		t.Fatalf("B: %v %v, zero %v, scale %v", pb.TensorProto_DataType(bq.GetDataType()), bq.GetDims(), bz.GetDims(), bs.GetDims())
	}

	// The product computed as ONNX Runtime's kernels compute it agrees with
	// the float product to within the quantization error.
	x := make([]float32, 2*k)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	scale, _ := Floats(bs)
	q := bq.GetRawData()
	xq, xs, xz := dynamicQuantize(x)
	for r := 0; r < 2; r++ {
		for c := 0; c < n; c++ {
			var acc int32
			exact, bound := 0.0, 0.0
			for i := 0; i < k; i++ {
				acc += (int32(xq[r*k+i]) - int32(xz)) * int32(int8(q[i*n+c]))
				exact += float64(x[r*k+i]) * float64(w[i*n+c])
				bound += math.Abs(float64(x[r*k+i]))*float64(scale[c])/2 + math.Abs(float64(w[i*n+c]))*float64(xs)/2 + float64(xs*scale[c])/4
			}
			got := float64(acc) * float64(xs) * float64(scale[c])
			if math.Abs(got-exact) > bound*1.0001 {
				t.Errorf("(%d, %d): %g, float %g, more than the bound %g apart", r, c, got, exact, bound)
			}
		}
	}
}

// dynamicQuantize is ONNX's DynamicQuantizeLinear: uint8, the range
// widened to hold 0, zero point rounded half to even.
func dynamicQuantize(x []float32) (q []uint8, scale float32, zero uint8) {
	lo, hi := float32(0), float32(0)
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	scale = (hi - lo) / 255
	zero = uint8(max(0, min(255, math.RoundToEven(float64(-lo/scale)))))
	q = make([]uint8, len(x))
	for i, v := range x {
		q[i] = uint8(max(0, min(255, math.RoundToEven(float64(v/scale))+float64(zero))))
	}
	return q, scale, zero
}

func TestQuantizeColumns(t *testing.T) {
	w := []float32{
		1, 0, -0.001,
		-2, 0, 0.002,
		0.5, 0, 0.0005,
	}
	q, s := quantizeColumns(w, 3, 3)
	if s[0] != 2.0/127 || s[1] != 1 || s[2] != 0.002/127 {
		t.Errorf("scales %v", s)
	}
	if got := []int8{int8(q[0]), int8(q[3]), int8(q[6]), int8(q[5])}; !slices.Equal(got, []int8{64, -127, 32, 127}) {
		t.Errorf("quantized %v", got)
	}
	for i, v := range w {
		if d := math.Abs(float64(int8(q[i]))*float64(s[i%3]) - float64(v)); d > float64(s[i%3])/2+1e-9 {
			t.Errorf("value %d: %g off", i, d)
		}
	}
}

func TestQuantizeRefuses(t *testing.T) {
	if _, err := QuantizeMatMuls(quantModel(10, make([]float32, 4), 2, 2)); err == nil {
		t.Error("opset 10 accepted: DynamicQuantizeLinear needs 11")
	}
	bad := quantModel(13, make([]float32, 4), 2, 2)
	bad.Graph.Initializer[0].RawData = bad.Graph.Initializer[0].RawData[:7]
	if _, err := QuantizeMatMuls(bad); err == nil {
		t.Error("a weight cut short was accepted")
	}
}
