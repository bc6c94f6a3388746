package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/internal/onnxgraph"
)

// opCase is a one-operator graph (or the few nodes a replacement needs)
// on a 1x8x8x4 float input x, as the SAM rewrite uses them.
type opCase struct {
	name  string
	opset int64
	nodes []*pb.NodeProto
	inits []*pb.TensorProto
	outs  []string
	end   bool // the graph also takes "end", an int64 [1] input (value 5)
	about string
}

func ints(name string, vals ...int64) *pb.TensorProto {
	return onnxgraph.Int64Tensor(name, []int64{int64(len(vals))}, vals)
}

func nd(op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{Name: op, OpType: op, Input: in, Output: out, Attribute: attrs}
}

func attrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: v}
}

func attrInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INTS, Ints: v}
}

// opCases are the operators the CUDA plugin must run for the rewritten SAM
// models, Slice itself (the crash that started it), and operators it was
// seen to run, as controls.
func opCases() []opCase {
	return []opCase{
		{name: "Slice/12", opset: 12, about: "the operator the 1.29 plugin crashed on",
			nodes: []*pb.NodeProto{nd("Slice", []string{"x", "starts", "ends", "axes", "steps"}, []string{"y"})},
			inits: []*pb.TensorProto{ints("starts", 1), ints("ends", 5), ints("axes", 2), ints("steps", 1)}, outs: []string{"y"}},
		{name: "Slice/17", opset: 17, about: "the same in the decoder's opset",
			nodes: []*pb.NodeProto{nd("Slice", []string{"x", "starts", "ends", "axes"}, []string{"y"})},
			inits: []*pb.TensorProto{ints("starts", 1), ints("ends", 5), ints("axes", 2)}, outs: []string{"y"}},
		{name: "Split(attribute)/12", opset: 12, about: "the encoder's replacement",
			nodes: []*pb.NodeProto{nd("Split", []string{"x"}, []string{"a", "y", "b"}, attrInt("axis", 2), attrInts("split", 1, 4, 3))},
			outs:  []string{"a", "y", "b"}},
		{name: "Split(input)/17", opset: 17, about: "the decoder's replacement where lengths are known",
			nodes: []*pb.NodeProto{nd("Split", []string{"x", "split"}, []string{"a", "y", "b"}, attrInt("axis", 2))},
			inits: []*pb.TensorProto{ints("split", 1, 4, 3)}, outs: []string{"a", "y", "b"}},
		{name: "Gather(constant indices)/12", opset: 12, about: "--strategy gather, and steps other than 1",
			nodes: []*pb.NodeProto{nd("Gather", []string{"x", "idx"}, []string{"y"}, attrInt("axis", 2))},
			inits: []*pb.TensorProto{ints("idx", 1, 2, 3, 4)}, outs: []string{"y"}},
		{name: "Gather(constant indices)/17", opset: 17, about: "the decoder's replacement where a length varies",
			nodes: []*pb.NodeProto{nd("Gather", []string{"x", "idx"}, []string{"y"}, attrInt("axis", 2))},
			inits: []*pb.TensorProto{ints("idx", 1, 2, 3, 4)}, outs: []string{"y"}},
		{name: "Squeeze+Range+Gather/17", opset: 17, end: true, about: "the decoder's prompt-sized crop (end computed at run time)",
			nodes: []*pb.NodeProto{
				nd("Squeeze", []string{"end", "axes0"}, []string{"endS"}),
				nd("Range", []string{"zero", "endS", "one"}, []string{"idx"}),
				nd("Gather", []string{"x", "idx"}, []string{"y"}, attrInt("axis", 2)),
			},
			inits: []*pb.TensorProto{ints("axes0", 0), onnxgraph.Int64Tensor("zero", nil, []int64{0}), onnxgraph.Int64Tensor("one", nil, []int64{1})},
			outs:  []string{"y"}},
		{name: "Reshape/12", opset: 12, about: "control: ran on the 1.29 plugin",
			nodes: []*pb.NodeProto{nd("Reshape", []string{"x", "shape"}, []string{"y"})},
			inits: []*pb.TensorProto{ints("shape", 1, 64, 4)}, outs: []string{"y"}},
		{name: "Pad/12", opset: 12, about: "control: ran on the 1.29 plugin",
			nodes: []*pb.NodeProto{nd("Pad", []string{"x", "pads"}, []string{"y"})},
			inits: []*pb.TensorProto{ints("pads", 0, 0, 1, 0, 0, 0, 1, 0)}, outs: []string{"y"}},
		{name: "Transpose/12", opset: 12, about: "control: ran on the 1.29 plugin",
			nodes: []*pb.NodeProto{nd("Transpose", []string{"x"}, []string{"y"}, attrInts("perm", 0, 3, 1, 2))}, outs: []string{"y"}},
	}
}

func (c opCase) model() ([]byte, error) {
	x := valueInfo("x", pb.TensorProto_FLOAT, 1, 8, 8, 4)
	g := &pb.GraphProto{Name: "opcheck", Node: c.nodes, Initializer: c.inits, Input: []*pb.ValueInfoProto{x}}
	if c.end {
		g.Input = append(g.Input, valueInfo("end", pb.TensorProto_INT64, 1))
	}
	for _, o := range c.outs {
		g.Output = append(g.Output, &pb.ValueInfoProto{Name: o, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
			TensorType: &pb.TypeProto_Tensor{ElemType: int32(pb.TensorProto_FLOAT)}}}})
	}
	m := &pb.ModelProto{IrVersion: 7, Graph: g, ProducerName: "polyseg gpucheck",
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: "", Version: c.opset}}}
	return onnxgraph.Encode(m)
}

func valueInfo(name string, t pb.TensorProto_DataType, dims ...int64) *pb.ValueInfoProto {
	sh := &pb.TensorShapeProto{}
	for _, d := range dims {
		sh.Dim = append(sh.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: int32(t), Shape: sh}}}}
}

// opResult is one case's outcome on the provider.
type opResult struct {
	Case       string  `json:"case"`
	About      string  `json:"about"`
	Outcome    string  `json:"outcome"` // ok, differs, error, crashed
	Detail     string  `json:"detail,omitempty"`
	MaxAbsDiff float64 `json:"max_abs_diff"`
}

// runOpcheck runs every case in a child process of its own (a crash inside
// ONNX Runtime's Run takes the process with it) and tabulates the results.
func runOpcheck(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("opcheck", flag.ContinueOnError)
	provider := fs.String("provider", "cuda", "provider to check against the CPU: cuda or cpu")
	lib := fs.String("lib", "", "libonnxruntime to load (default: the GPU runtime in the cache when the provider is cuda)")
	only := fs.String("case", "", "run this one case in this process (what the children do)")
	jsonOut := fs.String("json", "", "also write the results as JSON here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *lib == "" && *provider == "cuda" {
		*lib = onnxrt.GPURuntimePaths(onnxrt.DefaultCacheDir()).Core
	}
	if *only != "" {
		return opcheckOne(ctx, *only, *provider, *lib, stdout)
	}
	var results []opResult
	fmt.Fprintf(stdout, "| case | outcome on %s | max abs diff to the CPU | why it is checked |\n|---|---|---|---|\n", *provider)
	for _, c := range opCases() {
		cmd := exec.CommandContext(ctx, os.Args[0], "opcheck", "--case", c.name, "--provider", *provider, "--lib", *lib)
		cmd.Env = os.Environ()
		out, err := cmd.CombinedOutput()
		r := opResult{Case: c.name, About: c.about}
		line := lastLine(string(out))
		var ee *exec.ExitError
		switch {
		case err == nil && strings.HasPrefix(line, "{"):
			if jerr := json.Unmarshal([]byte(line), &r); jerr != nil {
				r.Outcome, r.Detail = "error", jerr.Error()
			}
		case errors.As(err, &ee) && ee.ProcessState != nil:
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				r.Outcome, r.Detail = "crashed", ws.Signal().String()
			} else {
				r.Outcome, r.Detail = "error", line
			}
		default:
			r.Outcome, r.Detail = "error", fmt.Sprint(err)
		}
		results = append(results, r)
		detail := r.Outcome
		if r.Detail != "" {
			detail += " (" + r.Detail + ")"
		}
		fmt.Fprintf(stdout, "| %s | %s | %.3g | %s |\n", r.Case, detail, r.MaxAbsDiff, r.About)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", " ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *jsonOut, err)
		}
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// opcheckOne runs one case on the CPU and on the provider and prints its
// opResult as a JSON line.
func opcheckOne(ctx context.Context, name, provider, lib string, stdout io.Writer) error {
	var c *opCase
	for _, oc := range opCases() {
		if oc.name == name {
			c = &oc
			break
		}
	}
	if c == nil {
		return fmt.Errorf("no case %q", name)
	}
	rt, err := onnxrt.NewRuntime(onnxrt.Options{Library: lib, Provider: onnxrt.Provider(provider), Threads: 1})
	if err != nil {
		return err
	}
	data, err := c.model()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(7, 7))
	xd := make([]float32, 8*8*4)
	for i := range xd {
		xd[i] = float32(rng.NormFloat64())
	}
	x, err := ort.NewTensor(ort.NewShape(1, 8, 8, 4), xd)
	if err != nil {
		return err
	}
	defer x.Destroy()
	in, inNames := []ort.Value{x}, []string{"x"}
	if c.end {
		e, err := ort.NewTensor(ort.NewShape(1), []int64{5})
		if err != nil {
			return err
		}
		defer e.Destroy()
		in, inNames = append(in, e), append(inNames, "end")
	}
	run := func(cuda bool) ([]ort.Value, error) {
		o, err := ort.NewSessionOptions()
		if err != nil {
			return nil, err
		}
		defer o.Destroy()
		if cuda {
			// As the app does for graphs with Range (GatherToSliceFusion).
			if err := o.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableBasic); err != nil {
				return nil, err
			}
			if err := o.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1"); err != nil {
				return nil, err
			}
			if err := rt.AppendCUDA(o); err != nil {
				return nil, err
			}
		}
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, inNames, c.outs, o)
		if err != nil {
			return nil, err
		}
		defer s.Destroy()
		outs := make([]ort.Value, len(c.outs))
		return outs, s.Run(in, outs)
	}
	res := opResult{Case: c.name, About: c.about}
	ref, err := run(false)
	if err != nil {
		return fmt.Errorf("%s on the CPU: %w", c.name, err)
	}
	defer destroy(ref)
	got, err := run(provider == "cuda")
	defer destroy(got)
	if err != nil {
		res.Outcome, res.Detail = "error", strings.SplitN(err.Error(), "\n", 2)[0]
	} else if res.MaxAbsDiff, err = onnxrt.MaxAbsDiff(ref, got); err != nil {
		res.Outcome, res.Detail = "error", err.Error()
	} else if res.MaxAbsDiff > 1e-6 {
		res.Outcome = "differs"
	} else {
		res.Outcome = "ok"
	}
	b, _ := json.Marshal(res)
	fmt.Fprintln(stdout, string(b))
	return nil
}

func destroy(vs []ort.Value) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}
