package app

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

const (
	repoModels = "../models" // the repository's models folder, seen from this package
	liver      = 5
)

var (
	modelsOnce   sync.Once
	sharedModels *Models
)

// testModels returns a Models shared by the tests of this package, so that
// ONNX Runtime sessions are created once, with the repository's models
// folder and the cache's SAM. The test is skipped when the cache lacks the
// runtime or SAM's weights (CI fetches them with scripts/fetch-runtime.sh).
func testModels(t testing.TB) *Models {
	t.Helper()
	cache := onnxrt.DefaultCacheDir()
	for _, f := range []string{"runtime/libonnxruntime.so.1", "models/sam-encoder.onnx", "models/sam-decoder.onnx"} {
		if _, err := os.Stat(filepath.Join(cache, f)); err != nil {
			t.Skipf("ONNX Runtime or SAM weights not in %s (run scripts/fetch-runtime.sh): %v", cache, err)
		}
	}
	modelsOnce.Do(func() {
		sharedModels = NewModels(ModelOptions{Dirs: []string{repoModels}})
	})
	return sharedModels
}

func newPatientBSession(t testing.TB, opts Options) (*Session, *volume.Labels) {
	t.Helper()
	opts.Models = testModels(t)
	v, ref, dir := realdata.PatientB(t, realData)
	if opts.AutosaveDir == "" {
		opts.AutosaveDir = t.TempDir()
	}
	s := New(opts)
	t.Cleanup(s.Close)
	if err := s.SetVolume(v, dir); err != nil {
		t.Fatal(err)
	}
	return s, ref
}

// liverBox returns the viewer's axial slice with the most liver in ref
// (the slice inference's own box test uses, so its embedding is cached),
// the inference slice number, and the corners of the liver's bounding box
// there in voxel indices.
func liverBox(t testing.TB, ref *volume.Labels) (slice, k int, a, b [3]int) {
	t.Helper()
	return organBox(t, ref, liver)
}

// organBox is liverBox for the organ of value in ref.
func organBox(t testing.TB, ref *volume.Labels, value uint16) (slice, k int, a, b [3]int) {
	t.Helper()
	sl, err := section.NewSlicer(ref.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	best, area := -1, 0
	for k := range sl.Slices {
		m, err := sl.Mask(ref, k, value)
		if err != nil {
			t.Fatal(err)
		}
		if m.Area() > area {
			best, area = k, m.Area()
		}
	}
	if best < 0 {
		t.Fatalf("reference has no voxel of value %d", value)
	}
	m, _ := sl.Mask(ref, best, value)
	box, _ := m.Bounds()
	a, b = sl.Voxel(best, box.R0, box.C0), sl.Voxel(best, box.R1, box.C1)
	slice, _, _ = viewer.NewSlicer(ref.Grid, viewer.Axial).Locate(a[0], a[1], a[2])
	return slice, best, a, b
}

// dice returns the Dice coefficient of value in a and b over the voxels
// for which in is true (all when in is nil).
func dice(a, b []uint16, value uint16, in func(i int) bool) float64 {
	inter, na, nb := 0, 0, 0
	for i := range a {
		if in != nil && !in(i) {
			continue
		}
		x, y := a[i] == value, b[i] == value
		if x {
			na++
		}
		if y {
			nb++
		}
		if x && y {
			inter++
		}
	}
	if na+nb == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(na+nb)
}

func TestBoxPromptAcceptUndoPatientB(t *testing.T) {
	s, ref := newPatientBSession(t, Options{})
	slice, k, a, b := liverBox(t, ref)
	job, err := s.BoxPrompt(viewer.Axial, slice, a, b, liver)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	info, ok := s.Preview()
	if !ok {
		t.Fatal("no preview after the box prompt")
	}
	if !slices.Equal(info.Values, []uint16{liver}) || info.Slice != slice || info.Voxels == 0 {
		t.Fatalf("preview %+v: want label %d on slice %d with voxels", info, liver, slice)
	}
	if got := labelsOf(s); slices.ContainsFunc(got, func(x uint16) bool { return x != 0 }) {
		t.Fatal("labels changed before the preview was accepted")
	}
	n, err := s.AcceptPreview()
	if err != nil {
		t.Fatal(err)
	}
	if n != info.Voxels {
		t.Errorf("accepting changed %d voxels, the preview proposed %d", n, info.Voxels)
	}
	if _, ok := s.Preview(); ok {
		t.Error("preview still pending after accepting it")
	}
	got := labelsOf(s)
	onSlice := func(i int) bool { return i/(ref.Dims[0]*ref.Dims[1]) == k }
	d := dice(got, ref.Data, liver, onSlice)
	t.Logf("slice %d (file slice %d): box Dice %.3f against the reference", slice+1, k, d)
	if d < 0.85 {
		t.Errorf("liver Dice %.3f < 0.85 on slice %d", d, slice+1)
	}
	for i, x := range got {
		if x != 0 && !onSlice(i) {
			t.Fatalf("voxel %d outside the box's slice got label %d", i, x)
		}
	}
	if name, ok := s.Undo(); !ok || name != info.Name {
		t.Fatalf("Undo = %q, %v; want %q", name, ok, info.Name)
	}
	if slices.ContainsFunc(labelsOf(s), func(x uint16) bool { return x != 0 }) {
		t.Error("undo left labelled voxels")
	}
}

// Rejecting a preview, and cancelling a model's job, leave the labels as
// they were: here patient B's reference labels, whose liver the box covers.
func TestPreviewRejectAndCancelKeepLabels(t *testing.T) {
	tests := []struct {
		name   string
		cancel bool
		start  func(s *Session, slice int, a, b [3]int) (*Job, error)
	}{
		{"reject box", false, func(s *Session, slice int, a, b [3]int) (*Job, error) {
			return s.BoxPrompt(viewer.Axial, slice, a, b, liver)
		}},
		{"cancel box", true, func(s *Session, slice int, a, b [3]int) (*Job, error) {
			return s.BoxPrompt(viewer.Axial, slice, a, b, liver)
		}},
		{"cancel refine slice", true, func(s *Session, slice int, _, _ [3]int) (*Job, error) {
			return s.RefineSlice(viewer.Axial, slice, liver)
		}},
		{"cancel refine volume", true, func(s *Session, _ int, _, _ [3]int) (*Job, error) {
			return s.RefineVolume(liver)
		}},
		{"cancel segment", true, func(s *Session, _ int, _, _ [3]int) (*Job, error) {
			return s.Segment()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *Session
			var once sync.Once
			opts := Options{}
			if tt.cancel {
				// Cancel at the job's first report, from its own
				// goroutine: the job is surely running then.
				opts.OnChange = func(c Change) {
					if c&ChangeJobs == 0 || s == nil {
						return
					}
					for _, j := range s.Jobs() {
						if _, stage := j.Progress(); stage != "" {
							once.Do(j.Cancel)
						}
					}
				}
			}
			s, ref := newPatientBSession(t, opts)
			if _, err := s.ReplaceLabels("reference", ref); err != nil {
				t.Fatal(err)
			}
			slice, _, a, b := liverBox(t, ref)
			job, err := tt.start(s, slice, a, b)
			if err != nil {
				t.Fatal(err)
			}
			err = job.Wait()
			if tt.cancel {
				if !Canceled(err) {
					t.Fatalf("cancelled job returned %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if !s.RejectPreview() {
					t.Fatal("no preview to reject")
				}
			}
			if _, ok := s.Preview(); ok {
				t.Error("a preview is pending")
			}
			if _, err := s.AcceptPreview(); !errors.Is(err, ErrNoPreview) {
				t.Errorf("AcceptPreview with nothing pending: %v, want ErrNoPreview", err)
			}
			if !slices.Equal(labelsOf(s), ref.Data) {
				t.Error("labels changed")
			}
			if undo, _ := s.UndoRedoNames(); undo != "reference" {
				t.Errorf("newest undo step %q, want the reference's", undo)
			}
		})
	}
}

// The repository's default U-Net on patient B: the preview's liver is the
// reference's (the manifest reports Dice 0.93 there), accepting applies
// exactly the preview, and undo removes it.
func TestSegmentPatientB(t *testing.T) {
	if _, err := os.Stat(filepath.Join(repoModels, DefaultUNet+".json")); err != nil {
		t.Skipf("default model absent: %v", err)
	}
	var mu sync.Mutex
	var fractions []float64
	var s *Session
	s, ref := newPatientBSession(t, Options{OnChange: func(c Change) {
		if c&ChangeJobs == 0 || s == nil {
			return
		}
		for _, j := range s.Jobs() {
			f, _ := j.Progress()
			mu.Lock()
			fractions = append(fractions, f)
			mu.Unlock()
		}
	}})
	job, err := s.Segment()
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(fractions, func(f float64) bool { return f > 0 && f < 1 }) {
		t.Errorf("no progress between 0 and 1 reported: %v", fractions)
	}
	info, ok := s.Preview()
	if !ok || !slices.Contains(info.Values, liver) || info.Slice != -1 {
		t.Fatalf("preview %+v, %v: want a whole-volume preview with liver", info, ok)
	}
	var proposed []uint16
	s.ReadPreview(func(l *Proposal) { proposed = l.Labels().Data })
	n, err := s.AcceptPreview()
	if err != nil {
		t.Fatal(err)
	}
	got := labelsOf(s)
	if !slices.Equal(got, proposed) || n != info.Voxels {
		t.Errorf("accepted labels differ from the preview (%d voxels changed, %d proposed)", n, info.Voxels)
	}
	d := dice(got, ref.Data, liver, nil)
	t.Logf("U-Net liver Dice %.3f on patient B; provider %s", d, s.ModelStatus().Provider)
	if d < 0.8 {
		t.Errorf("liver Dice %.3f < 0.8", d)
	}
	if st := s.ModelStatus(); st.UNet != DefaultUNet || (st.Provider != "CPU" && st.Provider != "CUDA") {
		t.Errorf("model status %+v: want %s on CPU or CUDA", st, DefaultUNet)
	}
	s.Undo()
	if slices.ContainsFunc(labelsOf(s), func(x uint16) bool { return x != 0 }) {
		t.Error("undo left labelled voxels")
	}
}

// The merge rules of a preview, on a 4-voxel strip: proposed values take
// background and their own voxels, their voxels not proposed go back to
// background, other labels and voxels outside the scope never change.
func TestPreviewMerge(t *testing.T) {
	g := volume.Grid{Dims: [3]int{6, 1, 1}, Affine: volume.Identity()}
	tests := []struct {
		name      string
		cur, prop []uint16
		values    []uint16
		scope     []uint32
		want      []uint16
	}{
		{"fills background", []uint16{0, 0, 0, 0, 0, 0}, []uint16{5, 5, 0, 0, 0, 0}, []uint16{5}, nil, []uint16{5, 5, 0, 0, 0, 0}},
		{"replaces own value", []uint16{0, 5, 5, 5, 0, 0}, []uint16{5, 5, 0, 0, 0, 0}, []uint16{5}, nil, []uint16{5, 5, 0, 0, 0, 0}},
		{"keeps other labels", []uint16{1, 1, 5, 2, 0, 0}, []uint16{5, 5, 5, 5, 5, 0}, []uint16{5}, nil, []uint16{1, 1, 5, 2, 5, 0}},
		{"ignores unlisted values", []uint16{0, 0, 0, 0, 0, 0}, []uint16{5, 3, 3, 0, 0, 0}, []uint16{5}, nil, []uint16{5, 0, 0, 0, 0, 0}},
		{"only its scope", []uint16{5, 5, 5, 5, 5, 5}, []uint16{0, 0, 0, 0, 5, 5}, []uint16{5}, []uint32{3, 4}, []uint16{5, 5, 5, 0, 5, 5}},
		{"several values", []uint16{1, 2, 0, 7, 0, 0}, []uint16{2, 1, 1, 2, 0, 0}, []uint16{1, 2}, nil, []uint16{2, 1, 1, 7, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
			s := New(Options{AutosaveDir: t.TempDir()})
			defer s.Close()
			if err := s.SetVolume(v, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ReplaceLabels("start", &volume.Labels{Grid: g, Data: slices.Clone(tt.cur)}); err != nil {
				t.Fatal(err)
			}
			prop := &volume.Labels{Grid: g, Data: slices.Clone(tt.prop)}
			if err := s.setPreview(newPreview("test", v, proposalOf(prop), tt.values, -1, tt.scope)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AcceptPreview(); err != nil {
				t.Fatal(err)
			}
			if got := labelsOf(s); !slices.Equal(got, tt.want) {
				t.Errorf("merged %v into %v: got %v, want %v", tt.prop, tt.cur, got, tt.want)
			}
			if name, _ := s.Undo(); name != "test" {
				t.Errorf("undo step %q, want test", name)
			}
			if got := labelsOf(s); !slices.Equal(got, tt.cur) {
				t.Errorf("undo gave %v, want %v", got, tt.cur)
			}
		})
	}
}

// A preview computed for a scan that was replaced meanwhile is dropped.
func TestPreviewDroppedForAnotherScan(t *testing.T) {
	s := newTestSession(t, Options{})
	old, _ := s.Volume()
	if err := s.SetVolume(testVolume(1), ""); err != nil {
		t.Fatal(err)
	}
	err := s.setPreview(newPreview("late", old, newProposal(old.Grid), []uint16{1}, -1, nil))
	if err == nil || !strings.Contains(err.Error(), "scan changed") {
		t.Fatalf("preview for a replaced scan: %v", err)
	}
	if _, ok := s.Preview(); ok {
		t.Error("stale preview pending")
	}
}

// Without the runtime library or without a model, the operations fail
// with errors saying so, and the scan stays open.
func TestModelsMissing(t *testing.T) {
	tests := []struct {
		name string
		opts ModelOptions
		op   func(s *Session) (*Job, error)
		is   error
		want string
	}{
		{"no runtime", ModelOptions{Runtime: onnxrt.Options{Library: "/nonexistent/libonnxruntime.so.1"}},
			(*Session).Segment, onnxrt.ErrNoRuntime, "ONNX Runtime"},
		{"no runtime for SAM", ModelOptions{Runtime: onnxrt.Options{Library: "/nonexistent/libonnxruntime.so.1"}},
			func(s *Session) (*Job, error) { return s.BoxPrompt(viewer.Axial, 0, [3]int{}, [3]int{3, 3, 0}, 1) },
			onnxrt.ErrNoRuntime, "ONNX Runtime"},
		{"no U-Net", ModelOptions{Dirs: []string{"testdata/none"}, UNet: "polycl-none"},
			(*Session).Segment, ErrNoModel, `no model found: model "polycl-none"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.is == ErrNoModel {
				testModels(t) // needs the runtime library
			}
			s := newTestSession(t, Options{ModelOptions: tt.opts})
			st := s.Models().Probe()
			if st.UNetErr == nil || !errors.Is(st.UNetErr, tt.is) {
				t.Errorf("probe: U-Net error %v, want %v", st.UNetErr, tt.is)
			}
			job, err := tt.op(s)
			if err != nil {
				t.Fatal(err)
			}
			err = job.Wait()
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("job error %v, want %v containing %q", err, tt.is, tt.want)
			}
			if v, _ := s.Volume(); v == nil {
				t.Error("the scan was closed")
			}
			if _, ok := s.Preview(); ok {
				t.Error("preview pending after a failure")
			}
		})
	}
}

// Operations refuse what they cannot do before starting a job.
func TestModelOperationsRefuse(t *testing.T) {
	s := newTestSession(t, Options{})
	tests := []struct {
		name string
		op   func() (*Job, error)
		want string
	}{
		{"coronal box", func() (*Job, error) { return s.BoxPrompt(viewer.Coronal, 0, [3]int{}, [3]int{1, 1, 1}, 1) }, "axial"},
		{"background box", func() (*Job, error) { return s.BoxPrompt(viewer.Axial, 0, [3]int{}, [3]int{1, 1, 0}, 0) }, "background"},
		{"corner outside", func() (*Job, error) { return s.BoxPrompt(viewer.Axial, 0, [3]int{}, [3]int{99, 1, 0}, 1) }, "outside"},
		{"slice outside", func() (*Job, error) { return s.RefineSlice(viewer.Axial, 99, 1) }, "outside"},
		{"nothing to refine", func() (*Job, error) { return s.RefineVolume(3) }, "no voxels of label 3"},
		{"no labels", func() (*Job, error) { return s.RefineVolume(0) }, "no labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := tt.op()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got job %v, error %v; want an error containing %q", j, err, tt.want)
			}
		})
	}
	empty := New(Options{AutosaveDir: t.TempDir()})
	defer empty.Close()
	if _, err := empty.Segment(); !errors.Is(err, ErrNoVolume) {
		t.Errorf("Segment without a scan: %v", err)
	}
}

// Refining the reference liver on one slice proposes a liver on that slice
// only, close to the reference, and accepting it changes nothing elsewhere.
func TestRefineSlicePatientB(t *testing.T) {
	s, ref := newPatientBSession(t, Options{})
	if _, err := s.ReplaceLabels("reference", ref); err != nil {
		t.Fatal(err)
	}
	slice, k, _, _ := liverBox(t, ref)
	job, err := s.RefineSlice(viewer.Axial, slice, liver)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	info, ok := s.Preview()
	if !ok || info.Slice != slice || !slices.Equal(info.Values, []uint16{liver}) {
		t.Fatalf("preview %+v, %v: want liver on slice %d", info, ok, slice+1)
	}
	onSlice := func(i int) bool { return i/(ref.Dims[0]*ref.Dims[1]) == k }
	s.ReadPreview(func(l *Proposal) {
		for i, x := range l.Labels().Data {
			if x != 0 && !onSlice(i) {
				t.Fatalf("preview proposes voxel %d off the slice", i)
			}
		}
	})
	if _, err := s.AcceptPreview(); err != nil {
		t.Fatal(err)
	}
	got := labelsOf(s)
	d := dice(got, ref.Data, liver, onSlice)
	t.Logf("refined liver on slice %d: Dice %.3f against the reference", slice+1, d)
	if d < 0.85 {
		t.Errorf("refined liver Dice %.3f < 0.85", d)
	}
	for i := range got {
		if !onSlice(i) && got[i] != ref.Data[i] {
			t.Fatalf("voxel %d off the slice changed from %d to %d", i, ref.Data[i], got[i])
		}
	}
}

// BenchmarkAcceptPreview accepts a whole-volume preview the size of a CT
// (512×512×100) that labels a third of it, as a segmentation does.
func BenchmarkAcceptPreview(b *testing.B) {
	g := volume.Grid{Dims: [3]int{512, 512, 100}, Affine: volume.Identity()}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	s := New(Options{AutosaveDir: b.TempDir()})
	defer s.Close()
	if err := s.SetVolume(v, ""); err != nil {
		b.Fatal(err)
	}
	prop := volume.NewLabels(g)
	for i := range prop.Data {
		if i%3 == 0 {
			prop.Data[i] = liver
		}
	}
	for b.Loop() {
		if err := s.setPreview(newPreview("bench", v, proposalOf(&volume.Labels{Grid: g, Data: slices.Clone(prop.Data)}), []uint16{liver}, -1, nil)); err != nil {
			b.Fatal(err)
		}
		if _, err := s.AcceptPreview(); err != nil {
			b.Fatal(err)
		}
		s.Undo()
	}
}

// SAM counts as found only when both manifests and the files they name
// are there.
func TestFindSAM(t *testing.T) {
	// The repository keeps SAM's manifests (the weights are fetched).
	manifest := func(name string) string {
		b, err := os.ReadFile(filepath.Join(repoModels, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name  string
		files map[string]string
		want  string // "" when found
	}{
		{"both", map[string]string{"sam-encoder.json": manifest("sam-encoder"), "sam-encoder.onnx": "",
			"sam-decoder.json": manifest("sam-decoder"), "sam-decoder.onnx": ""}, ""},
		{"no decoder", map[string]string{"sam-encoder.json": manifest("sam-encoder"), "sam-encoder.onnx": ""}, "no sam-decoder.json"},
		{"weights missing", map[string]string{"sam-encoder.json": manifest("sam-encoder"),
			"sam-decoder.json": manifest("sam-decoder"), "sam-decoder.onnx": ""}, "sam-encoder.onnx"},
		{"empty folder", nil, "no sam-encoder.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := findSAM(dir)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("findSAM: %v", err)
			case tt.want != "" && (!errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("findSAM: %v, want ErrNoModel mentioning %q", err, tt.want)
			}
		})
	}
}

// RefineVolume refines every slice holding the label: here the reference
// liver kept on one slice only (so that SAM's encoder runs once, from the
// cache after TestRefineSlicePatientB), with the spleen left everywhere.
// The preview covers the volume, touches only the liver, and undo restores
// the labels.
func TestRefineVolumePatientB(t *testing.T) {
	s, ref := newPatientBSession(t, Options{})
	_, k, _, _ := liverBox(t, ref)
	nxy := ref.Dims[0] * ref.Dims[1]
	start := &volume.Labels{Grid: ref.Grid, Data: slices.Clone(ref.Data)}
	for i, x := range start.Data {
		if x == liver && i/nxy != k {
			start.Data[i] = 0
		}
	}
	if _, err := s.ReplaceLabels("start", start); err != nil {
		t.Fatal(err)
	}
	job, err := s.RefineVolume(liver)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	info, ok := s.Preview()
	if !ok || info.Slice != -1 || !slices.Equal(info.Values, []uint16{liver}) {
		t.Fatalf("preview %+v, %v: want a whole-volume liver preview", info, ok)
	}
	if _, err := s.AcceptPreview(); err != nil {
		t.Fatal(err)
	}
	got := labelsOf(s)
	for i := range got {
		if (got[i] == liver) != (start.Data[i] == liver) && (i/nxy != k) {
			t.Fatalf("voxel %d off slice %d changed from %d to %d", i, k, start.Data[i], got[i])
		}
		if start.Data[i] != 0 && start.Data[i] != liver && got[i] != start.Data[i] {
			t.Fatalf("voxel %d of label %d became %d", i, start.Data[i], got[i])
		}
	}
	d := dice(got, ref.Data, liver, func(i int) bool { return i/nxy == k })
	t.Logf("refined liver on file slice %d: Dice %.3f against the reference", k, d)
	if d < 0.85 {
		t.Errorf("refined liver Dice %.3f < 0.85", d)
	}
	s.Undo()
	if !slices.Equal(labelsOf(s), start.Data) {
		t.Error("undo did not restore the labels")
	}
}
