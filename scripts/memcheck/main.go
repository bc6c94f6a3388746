// Command memcheck measures the app's resident memory with a large scan
// open: a headless session (package app, what the window runs) opens a
// 512×512×N scan (patient B's 20 slices repeated, each copy shifted by a
// hundredth of a HU so that every slice is its own image for SAM), two
// segments (liver and spleen) drawn on every slice, the background
// encoder running, and a SAM box drawn and accepted. It prints the
// peak resident memory (VmHWM) and the Go heap, with the embedding cache
// in a temporary folder so that every slice is encoded afresh. It bounds
// the Go heap as polyseg view does (app.BoundGoHeap) unless GOMEMLIMIT is
// set. With -profile, it writes a heap profile (runtime/pprof) at each
// state into that folder, for go tool pprof -top (-sample_index
// alloc_space for the allocations made so far, garbage included).
//
// Usage (repository root, after scripts/fetch-runtime.sh):
//
//	go run ./scripts/memcheck -slices 300 -encode 48
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "memcheck:", err)
		os.Exit(1)
	}
}

func run() error {
	data := flag.String("data", "../shared/data/real/totalsegmentator", "folder of the real fixtures")
	n := flag.Int("slices", 300, "axial slices of the scan")
	encode := flag.Int("encode", 48, "slices to let the background encoder do before the propagation")
	profile := flag.String("profile", "", "folder to write a heap profile of each state into")
	flag.Parse()
	if *profile != "" {
		if err := os.MkdirAll(*profile, 0o755); err != nil {
			return err
		}
		profileDir = *profile
	}
	ctx := context.Background()
	// What polyseg view does.
	if os.Getenv("GOMEMLIMIT") == "" {
		go app.BoundGoHeap(ctx, app.GoHeapLimit, time.Second)
	}

	b, err := volume.Open(ctx, filepath.Join(*data, "example_ct_dicom"), volume.OpenOptions{})
	if err != nil {
		return err
	}
	ref, _, err := volume.LoadLabels(filepath.Join(*data, "example_seg_dicom.nii.gz"), b.Grid)
	if err != nil {
		return err
	}
	v, l, err := tile(b, ref, *n)
	if err != nil {
		return err
	}
	b, ref = nil, nil
	tmp, err := os.MkdirTemp("", "memcheck-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	report("before the session")

	models := app.NewModels(app.ModelOptions{SAM: sam.Options{DiskCache: filepath.Join(tmp, "emb")}})
	s := app.New(app.Options{AutosaveDir: tmp, Models: models, EncodeAhead: true})
	defer s.Close()
	if err := s.SetVolume(v, filepath.Join(tmp, "scan.nii.gz")); err != nil {
		return err
	}
	v = nil
	if _, err := s.ReplaceLabels("labels", l); err != nil {
		return err
	}
	l = nil
	s.SetActiveLabel(5)
	report("scan and two segments open")

	// Let the background encoder work.
	deadline := time.Now().Add(30 * time.Minute)
	for {
		sm := models.LoadedSAM()
		if sm != nil && sm.Stats().Encoded >= int64(*encode) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the background encoder did not reach %d slices", *encode)
		}
		time.Sleep(time.Second)
	}
	report(fmt.Sprintf("%d slices encoded", *encode))

	// A SAM box around the liver on the middle slice (the voxel box of
	// its labels there), its preview accepted: a preview holds a label
	// volume of its own while it is shown.
	vol, _ := s.Volume()
	mid := vol.Dims[2] / 2
	lo, hi := [3]int{vol.Dims[0], vol.Dims[1], mid}, [3]int{-1, -1, mid}
	s.Read(func(_ *volume.Volume, layer *viewer.Overlay) {
		plane := vol.Dims[0] * vol.Dims[1]
		for i, x := range layer.Labels.Data[mid*plane : (mid+1)*plane] {
			if x == 5 {
				c, r := i%vol.Dims[0], i/vol.Dims[0]
				lo[0], lo[1] = min(lo[0], c), min(lo[1], r)
				hi[0], hi[1] = max(hi[0], c), max(hi[1], r)
			}
		}
	})
	job, err := s.BoxPrompt(viewer.Axial, mid, lo, hi, 5)
	if err != nil {
		return err
	}
	if err := job.Wait(); err != nil {
		return err
	}
	if _, err := s.AcceptPreview(); err != nil {
		return err
	}
	report("after a SAM box, accepted")
	st := models.LoadedSAM().Stats()
	fmt.Printf("encoded %d slices, %d served by the cache\n", st.Encoded, st.Hits)
	return nil
}

// tile repeats b's slices (and ref's labels) to n axial slices, shifting
// each copy's HU by a hundredth so that no two slices are the same image.
func tile(b *volume.Volume, ref *volume.Labels, n int) (*volume.Volume, *volume.Labels, error) {
	g := b.Grid
	g.Dims[2] = n
	plane := b.Dims[0] * b.Dims[1]
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	l := volume.NewLabels(g)
	for k := 0; k < n; k++ {
		src := k % b.Dims[2]
		shift := float32(k/b.Dims[2]) * 0.01
		for i, x := range b.Data[src*plane : (src+1)*plane] {
			v.Data[k*plane+i] = x + shift
		}
		for i, x := range ref.Data[src*plane : (src+1)*plane] {
			if x == 5 || x == 1 { // liver and spleen: two segments
				l.Data[k*plane+i] = x
			}
		}
	}
	return v, l, nil
}

// profileDir is -profile's folder; profiles counts those written to it.
var (
	profileDir string
	profiles   int
)

// report prints the process's peak and current resident memory and the Go
// heap, and writes a heap profile when -profile is set.
func report(when string) {
	if profileDir != "" {
		profiles++
		name := filepath.Join(profileDir, fmt.Sprintf("%d-%s.pb.gz", profiles, strings.ReplaceAll(when, " ", "_")))
		if f, err := os.Create(name); err == nil {
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				fmt.Fprintln(os.Stderr, "memcheck: heap profile:", err)
			}
			f.Close()
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%-32s VmHWM %5d MB  VmRSS %5d MB  Go heap in use %5d MB, from the OS %5d MB\n",
		when, status("VmHWM")>>10, status("VmRSS")>>10, ms.HeapInuse>>20, ms.HeapSys>>20)
}

// status returns a kB field of /proc/self/status.
func status(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb
		}
	}
	return -1
}
