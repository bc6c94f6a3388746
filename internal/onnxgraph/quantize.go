package onnxgraph

import (
	"encoding/binary"
	"fmt"
	"math"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
)

// QuantizeStats says what QuantizeMatMuls did.
type QuantizeStats struct {
	// MatMuls counts the MatMul nodes rewritten; Skipped those left in
	// float32 (their second input is not a constant 2-D float matrix).
	MatMuls, Skipped int
	// Weights counts the float32 values turned into int8.
	Weights int64
}

// QuantizeMatMuls rewrites every MatMul whose second input is a constant
// 2-D float32 matrix into ONNX Runtime's dynamic int8 form, the one its
// Python quantizer (quantize_dynamic, QOperator format) writes:
//
//	A ──DynamicQuantizeLinear──▶ A_q (uint8), A_scale, A_zero
//	MatMulInteger(A_q, B_q, A_zero, B_zero) ──Cast(float)──▶ Mul(·, A_scale·B_scale)
//
// B is quantized once, here, to int8 per column (symmetric: zero point 0,
// scale max|B[:,j]|/127, values rounded half to even), which keeps a
// column of small weights from losing its precision to a large one
// elsewhere; A is quantized to uint8 on every run by DynamicQuantizeLinear
// (opset 11). The pattern is the one ONNX Runtime's CPU optimiser fuses
// into DynamicQuantizeMatMul (with a following bias Add), so the whole
// product runs in its int8 kernels. Each rewritten MatMul gets its own
// scale product: the fusion needs that Mul to have one consumer.
//
// The float weights no longer used are removed. The graph's opset must be
// 11 or later.
func QuantizeMatMuls(m *pb.ModelProto) (QuantizeStats, error) {
	var st QuantizeStats
	if v := Opset(m); v < 11 {
		return st, fmt.Errorf("%w: opset %d: dynamic quantization needs DynamicQuantizeLinear (opset 11)", ErrFormat, v)
	}
	g := m.GetGraph()
	r := newRewriter(g, Opset(m))
	consts := Constants(g)
	type qweight struct{ q, zero, scale string }
	done := map[string]qweight{} // weights quantized already, by name
	var out []*pb.NodeProto
	for _, n := range g.GetNode() {
		if n.GetOpType() != "MatMul" || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") || len(n.GetInput()) != 2 {
			out = append(out, n)
			continue
		}
		wname := n.GetInput()[1]
		w, ok := consts[wname]
		if !ok || len(w.GetDims()) != 2 || pb.TensorProto_DataType(w.GetDataType()) != pb.TensorProto_FLOAT {
			st.Skipped++
			out = append(out, n)
			continue
		}
		qw, ok := done[wname]
		if !ok {
			vals, err := Floats(w)
			if err != nil {
				return st, fmt.Errorf("node %q: %w", n.GetName(), err)
			}
			q, scale := quantizeColumns(vals, w.GetDims()[0], w.GetDims()[1])
			cols := w.GetDims()[1]
			qw = qweight{q: r.name(wname + "_quantized"), zero: r.name(wname + "_zero_point"), scale: r.name(wname + "_scale")}
			r.inits = append(r.inits,
				&pb.TensorProto{Name: qw.q, Dims: append([]int64(nil), w.GetDims()...), DataType: int32(pb.TensorProto_INT8), RawData: q},
				&pb.TensorProto{Name: qw.zero, Dims: []int64{cols}, DataType: int32(pb.TensorProto_INT8), RawData: make([]byte, cols)},
				FloatTensor(qw.scale, []int64{cols}, scale))
			done[wname] = qw
			st.Weights += int64(len(vals))
		}
		base := n.GetName()
		if base == "" {
			base = n.GetOutput()[0]
		}
		aq, as, az := r.name(base+"/A_quantized"), r.name(base+"/A_scale"), r.name(base+"/A_zero_point")
		mi, cast, scales := r.name(base+"/MatMulInteger_output"), r.name(base+"/Cast_output"), r.name(base+"/scales")
		out = append(out,
			node(r.name(base+"/DynamicQuantizeLinear"), "DynamicQuantizeLinear", []string{n.GetInput()[0]}, []string{aq, as, az}),
			node(r.name(base+"/MatMulInteger"), "MatMulInteger", []string{aq, qw.q, az, qw.zero}, []string{mi}),
			withInt(node(r.name(base+"/Cast"), "Cast", []string{mi}, []string{cast}), "to", int64(pb.TensorProto_FLOAT)),
			node(r.name(base+"/scales_mul"), "Mul", []string{as, qw.scale}, []string{scales}),
			node(r.name(base+"/output_scale_mul"), "Mul", []string{cast, scales}, []string{n.GetOutput()[0]}),
		)
		st.MatMuls++
	}
	g.Node = out
	g.Initializer = append(g.Initializer, r.inits...)
	Prune(m)
	return st, nil
}

// quantizeColumns quantizes a rows x cols row-major matrix to int8 per
// column, symmetrically: scale_j = max_i |w_ij| / 127 (1 for a column of
// zeros), q_ij = round_half_even(w_ij / scale_j) clamped to ±127.
func quantizeColumns(w []float32, rows, cols int64) (q []byte, scale []float32) {
	scale = make([]float32, cols)
	for j := int64(0); j < cols; j++ {
		m := float32(0)
		for i := int64(0); i < rows; i++ {
			m = max(m, float32(math.Abs(float64(w[i*cols+j]))))
		}
		scale[j] = m / 127
		if m == 0 {
			scale[j] = 1
		}
	}
	q = make([]byte, len(w))
	for i := int64(0); i < rows; i++ {
		for j := int64(0); j < cols; j++ {
			v := math.RoundToEven(float64(w[i*cols+j]) / float64(scale[j]))
			q[i*cols+j] = byte(int8(max(-127, min(127, v))))
		}
	}
	return q, scale
}

// Floats returns the values of a float32 tensor.
func Floats(t *pb.TensorProto) ([]float32, error) {
	n, err := NumElements(t)
	if err != nil {
		return nil, err
	}
	if dt := pb.TensorProto_DataType(t.GetDataType()); dt != pb.TensorProto_FLOAT {
		return nil, fmt.Errorf("%w: tensor %q is %v, not float32", ErrFormat, t.GetName(), dt)
	}
	if raw := t.GetRawData(); len(raw) > 0 || len(t.GetFloatData()) == 0 {
		if int64(len(raw)) != 4*n {
			return nil, fmt.Errorf("%w: tensor %q has %d bytes for %d float32 values", ErrFormat, t.GetName(), len(raw), n)
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	}
	if int64(len(t.GetFloatData())) != n {
		return nil, fmt.Errorf("%w: tensor %q holds %d values for dimensions %v", ErrFormat, t.GetName(), len(t.GetFloatData()), t.GetDims())
	}
	return append([]float32(nil), t.GetFloatData()...), nil
}

// FloatTensor makes a float32 tensor of the given dimensions holding vals,
// in raw little-endian form.
func FloatTensor(name string, dims []int64, vals []float32) *pb.TensorProto {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &pb.TensorProto{Name: name, Dims: append([]int64(nil), dims...), DataType: int32(pb.TensorProto_FLOAT), RawData: raw}
}
