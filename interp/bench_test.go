package interp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/polyseg/polyseg/volume"
)

// BenchmarkFillPatientB times Fill on patient B's liver (512×512×20,
// 0.98 × 0.98 × 2 mm) from every 5th and every 10th axial slice against
// scripts/interp_reference.py, SciPy's distance_transform_edt doing the
// same interpolation on the same label file, run in the same benchmark:
// the reference before and after the Go loop (one warm-up and 5 timed runs
// each, file reading excluded on both sides), so that the machine's load
// hits both alike. Reported: go-ms (per fill), scipy-ms (the median of the
// reference's runs) and go/scipy.
//
//	go test ./interp -run '^$' -bench FillPatientB -benchtime 20x -count 3
func BenchmarkFillPatientB(b *testing.B) {
	path := filepath.Join(realData, "example_seg_dicom.nii.gz")
	ref, err := volume.ReadLabelsNIfTI(path)
	if err != nil {
		b.Skipf("real data absent: %v", err)
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import scipy, nibabel").Run(); err != nil {
		b.Skipf("%s with SciPy and nibabel unavailable: %v", py, err)
	}
	const liver = 5
	for _, step := range []int{5, 10} {
		b.Run(fmt.Sprintf("liver/every%d", step), func(b *testing.B) {
			sparse := Sparse(ref, liver, 2, step)
			scipy := referenceTimes(b, py, path, liver, step)
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if _, err := Fill(context.Background(), sparse, liver, Options{Axis: 2}); err != nil {
					b.Fatal(err)
				}
			}
			goMS := float64(time.Since(start).Microseconds()) / 1000 / float64(b.N)
			b.StopTimer()
			scipy = append(scipy, referenceTimes(b, py, path, liver, step)...)
			slices.Sort(scipy)
			med := scipy[len(scipy)/2] * 1000
			b.ReportMetric(goMS, "go-ms")
			b.ReportMetric(med, "scipy-ms")
			b.ReportMetric(goMS/med, "go/scipy")
		})
	}
}

// referenceTimes runs the SciPy reference and returns its timed runs (s).
func referenceTimes(b *testing.B, py, path string, value uint16, step int) []float64 {
	b.Helper()
	out, err := exec.Command(py, "../scripts/interp_reference.py", path, fmt.Sprint(value), fmt.Sprint(step), "--repeat", "5").Output()
	if err != nil {
		b.Fatalf("reference: %v", err)
	}
	var ts []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		x, err := strconv.ParseFloat(sc.Text(), 64)
		if err != nil {
			b.Fatalf("reference printed %q", sc.Text())
		}
		ts = append(ts, x)
	}
	return ts
}
