// Command unet_bench compares U-Net inference through ONNX Runtime (the
// app's onnxrt.Session) with PyTorch on the same exported model and the
// same slices, in one command, and prints the ratio ORT / PyTorch (lower is
// better; the target is <= 1).
//
// Usage (repository root, after scripts/fetch-runtime.sh):
//
//	go run ./scripts/unet_bench [-threads 2] [-runs 5] [-n 16] [-batch 8]
//
// torch_side.py (Debian's /usr/bin/python3 with python3-torch) builds the
// project's PolyCL U-Net from training/polycl, exports it with the
// trainer's exporter, writes patient A's slices preprocessed as the app
// does, and times PyTorch; this program then times ONNX Runtime on the
// model and slices it wrote. Both use the same thread count, a warm-up run
// and the median of the timed runs.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/models"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "unet_bench:", err)
		os.Exit(1)
	}
}

func run() error {
	ct := flag.String("ct", "../shared/data/real/totalsegmentator/example_ct.nii.gz", "CT scan to take slices from")
	threads := flag.Int("threads", runtime.NumCPU(), "threads for both runtimes")
	runs := flag.Int("runs", 5, "timed runs (after one warm-up)")
	n := flag.Int("n", 16, "slices")
	batch := flag.Int("batch", 8, "slices per forward pass")
	size := flag.Int("size", 256, "model input size")
	rounds := flag.Int("rounds", 3, "rounds of PyTorch then ONNX Runtime; the shared machine's load drifts, so each round's ratio compares neighbours in time")
	flag.Parse()

	dir, err := os.MkdirTemp("", "unet_bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	torchSide := func() (ms float64, version string, err error) {
		py := exec.Command("/usr/bin/python3", "scripts/unet_bench/torch_side.py", *ct, dir,
			fmt.Sprint(*size), fmt.Sprint(*batch), fmt.Sprint(*n), fmt.Sprint(*threads), fmt.Sprint(*runs))
		py.Stderr = os.Stderr
		if err := py.Run(); err != nil {
			return 0, "", fmt.Errorf("torch_side.py: %w", err)
		}
		var tj struct {
			TorchMS float64 `json:"torch_ms_per_slice"`
			Version string  `json:"torch_version"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "torch.json"))
		if err != nil {
			return 0, "", err
		}
		if err := json.Unmarshal(b, &tj); err != nil {
			return 0, "", fmt.Errorf("torch.json: %w", err)
		}
		return tj.TorchMS, tj.Version, nil
	}
	torchMS, version, err := torchSide()
	if err != nil {
		return err
	}

	onnx := filepath.Join(dir, "model.onnx")
	mb, err := os.ReadFile(onnx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(mb)
	s := int64(*size)
	m := &models.Manifest{
		Format: models.Format, Name: "bench-unet", Kind: models.KindUNet, File: "model.onnx",
		SHA256:  hex.EncodeToString(sum[:]),
		Inputs:  []models.Tensor{{Name: "image", Shape: []int64{-1, 1, s, s}, Type: "float32"}},
		Outputs: []models.Tensor{{Name: "probs", Shape: []int64{-1, 1, s, s}, Type: "float32"}},
		Path:    filepath.Join(dir, "bench-unet.json"),
	}
	rt, err := onnxrt.NewRuntime(onnxrt.Options{Threads: *threads})
	if err != nil {
		return err
	}
	sess, err := rt.LoadModel(m, models.KindUNet)
	if err != nil {
		return err
	}
	defer sess.Close()
	raw, err := os.ReadFile(filepath.Join(dir, "slices.f32"))
	if err != nil {
		return err
	}
	px := int(s * s)
	if len(raw) != 4**n*px {
		return fmt.Errorf("slices.f32 has %d bytes, want %d", len(raw), 4**n*px)
	}
	x := make([]float32, *n*px)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	ctx := context.Background()
	ortSide := func() (float64, error) {
		var times []float64
		for r := 0; r <= *runs; r++ {
			t0 := time.Now()
			for b0 := 0; b0 < *n; b0 += *batch {
				nb := min(*batch, *n-b0)
				in, err := ort.NewTensor(ort.NewShape(int64(nb), 1, s, s), x[b0*px:(b0+nb)*px])
				if err != nil {
					return 0, err
				}
				outs := []ort.Value{nil}
				err = sess.Run(ctx, []ort.Value{in}, outs)
				in.Destroy()
				if err != nil {
					return 0, err
				}
				outs[0].Destroy()
			}
			if r > 0 {
				times = append(times, float64(time.Since(t0).Microseconds())/1000/float64(*n))
			}
		}
		slices.Sort(times)
		return times[len(times)/2], nil
	}
	prov, _ := rt.Provider()
	fmt.Printf("PolyCL U-Net %dx%d, %d slices of patient A in batches of %d, %d threads, median of %d runs after a warm-up\n", s, s, *n, *batch, *threads, *runs)
	var ratios []float64
	for round := 1; round <= *rounds; round++ {
		if round > 1 {
			if torchMS, _, err = torchSide(); err != nil {
				return err
			}
		}
		ortMS, err := ortSide()
		if err != nil {
			return err
		}
		ratios = append(ratios, ortMS/torchMS)
		fmt.Printf("round %d: PyTorch %s %.1f ms/slice, ONNX Runtime (%s, onnxrt.Session) %.1f ms/slice, ratio %.2f\n",
			round, version, torchMS, prov, ortMS, ortMS/torchMS)
	}
	slices.Sort(ratios)
	fmt.Printf("median ratio ORT/PyTorch: %.2f\n", ratios[len(ratios)/2])
	return nil
}
