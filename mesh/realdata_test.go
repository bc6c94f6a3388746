package mesh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

const realData = "../../shared/data/real/totalsegmentator"

// patientALabels is example_seg_fast_force_split.nii.gz: patient A's
// TotalSegmentator labels, 122×101×112 voxels of 3 mm.
var patientALabels = filepath.Join(realData, "example_seg_fast_force_split.nii.gz")

// The organs the checks run on: 1 spleen, 2 kidney_right, 3 kidney_left,
// 5 liver (TotalSegmentator's values, named from the bundled table).
var organs = []uint16{1, 2, 3, 5}

var loadPatientA = sync.OnceValues(func() (*volume.Labels, error) {
	return volume.ReadLabelsNIfTI(patientALabels)
})

func patientA(t *testing.T) *volume.Labels {
	t.Helper()
	if _, err := os.Stat(patientALabels); errors.Is(err, os.ErrNotExist) {
		t.Skipf("real data absent: %v", err)
	}
	l, err := loadPatientA()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var (
	organCacheMu sync.Mutex
	organCache   = map[Options][]*Mesh{}
)

// organMeshes returns patient A's organ surfaces, named and coloured from
// the bundled colour table, checked closed; the tests share them (each
// gets copies).
func organMeshes(t *testing.T, l *volume.Labels, opt Options) []*Mesh {
	t.Helper()
	organCacheMu.Lock()
	defer organCacheMu.Unlock()
	ms, ok := organCache[opt]
	if !ok {
		var err error
		ms, err = ExtractAll(context.Background(), l, organs, opt)
		if err != nil {
			t.Fatal(err)
		}
		ct := assets.DefaultColorTable()
		for _, m := range ms {
			m.Name, m.Color = ct.Name(m.Label), ct.Color(m.Label)
			if err := Check(m); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
		}
		organCache[opt] = ms
	}
	out := make([]*Mesh, len(ms))
	for n, m := range ms {
		out[n] = m.Clone()
	}
	return out
}

// TestPatientASmoothingKeepsVolume: Taubin smoothing must not shrink an
// organ (nor swell it) by 2 %, and must leave it closed.
func TestPatientASmoothingKeepsVolume(t *testing.T) {
	l := patientA(t)
	raw := organMeshes(t, l, Options{})
	for _, it := range []int{10, 20, 50} {
		for _, m := range raw {
			s := m.Clone()
			s.Smooth(it)
			if err := Check(s); err != nil {
				t.Fatalf("%s smoothed %d: %v", m.Name, it, err)
			}
			change := s.Volume()/m.Volume() - 1
			t.Logf("%s: %d iterations: volume %+.2f %%, area %+.2f %%", m.Name, it, 100*change, 100*(s.Area()/m.Area()-1))
			if math.Abs(change) >= 0.02 {
				t.Errorf("%s: %d iterations change the volume by %+.2f %%", m.Name, it, 100*change)
			}
		}
	}
}

// TestPatientADecimation: decimated organs stay closed manifolds, reach
// the ratio and keep their volume.
func TestPatientADecimation(t *testing.T) {
	l := patientA(t)
	for _, m := range organMeshes(t, l, Options{Smooth: 20}) {
		for _, r := range []float64{0.5, 0.1} {
			d := m.Clone()
			if err := d.Decimate(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if err := Check(d); err != nil {
				t.Fatalf("%s decimated to %g: %v", m.Name, r, err)
			}
			got := float64(len(d.Triangles)) / float64(len(m.Triangles))
			if got > r*1.02+0.001 {
				t.Errorf("%s: decimated to %.3f of the triangles, asked %g", m.Name, got, r)
			}
			if c := d.Volume()/m.Volume() - 1; math.Abs(c) > 0.01 {
				t.Errorf("%s: decimation to %g changes the volume by %+.2f %%", m.Name, r, 100*c)
			}
		}
	}
}

// TestPatientAAdmesh writes the organs as STL (as marching cubes makes
// them, smoothed, and smoothed and decimated) and has admesh, an
// independent STL checker, look for open edges, disconnected facets,
// inconsistent normals and a negative volume.
func TestPatientAAdmesh(t *testing.T) {
	l := patientA(t)
	bin, err := exec.LookPath("admesh")
	if err != nil {
		t.Skip("admesh is not installed (Debian package admesh; scripts/setup.sh installs it)")
	}
	dir := t.TempDir()
	variants := map[string]Options{"raw": {}, "smooth": {Smooth: 20}, "decimated": {Smooth: 20, Decimate: 0.2}}
	for vname, opt := range variants {
		for _, m := range organMeshes(t, l, opt) {
			path := filepath.Join(dir, vname+"_"+m.Name+".stl")
			if _, err := WriteFiles(path, STL, []*Mesh{m}, LPS); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, path).CombinedOutput()
			if err != nil {
				t.Fatalf("admesh %s: %v\n%s", path, err, out)
			}
			rep := admeshReport(t, string(out))
			for _, key := range []string{"Facets with 1 disconnected edge", "Facets with 2 disconnected edges",
				"Facets with 3 disconnected edges", "Total disconnected facets", "Degenerate facets", "Edges fixed",
				"Facets removed", "Facets added", "Facets reversed", "Backwards edges", "Normals fixed"} {
				if rep[key] != 0 {
					t.Errorf("%s %s: admesh: %s = %g", vname, m.Name, key, rep[key])
				}
			}
			if rep["Number of parts"] < 1 || rep["Number of facets"] != float64(len(m.Triangles)) {
				t.Errorf("%s %s: admesh reads %g facets in %g parts; %d written", vname, m.Name, rep["Number of facets"], rep["Number of parts"], len(m.Triangles))
			}
			if v := rep["Volume"]; math.Abs(v-m.Volume()) > 1e-4*m.Volume() {
				t.Errorf("%s %s: admesh volume %g mm³, ours %g", vname, m.Name, v, m.Volume())
			}
		}
	}
}

// admeshReport reads "Name : value" pairs (the first value of a row)
// from admesh's report.
func admeshReport(t *testing.T, out string) map[string]float64 {
	t.Helper()
	rep := map[string]float64{}
	re := regexp.MustCompile(`([A-Za-z][A-Za-z0-9 ]*?)\s*:\s*(-?[0-9.]+)`)
	for _, line := range strings.Split(out, "\n") {
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				continue
			}
			key := strings.TrimSpace(m[1])
			if _, seen := rep[key]; !seen {
				rep[key] = v
			}
		}
	}
	for _, key := range []string{"Number of facets", "Total disconnected facets", "Number of parts", "Volume"} {
		if _, ok := rep[key]; !ok {
			t.Fatalf("admesh's report has no %q:\n%s", key, out)
		}
	}
	return rep
}

// TestPatientAVTK writes the organs in all three formats and checks them
// with VTK (vtkMassProperties, vtkFeatureEdges; reading STL, PLY, OBJ) and
// against scikit-image's marching cubes on the same masks
// (testdata/reference.py).
func TestPatientAVTK(t *testing.T) {
	l := patientA(t)
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("Debian's python3 is not installed: %v", err)
	}
	probe := exec.Command(py, "-c", "import nibabel, skimage, vtkmodules.vtkIOPLY")
	if out, err := probe.CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("ModuleNotFoundError")) {
			t.Skipf("a Python module is missing (python3-nibabel, python3-skimage, python3-vtk9; scripts/setup.sh installs them): %s", bytes.TrimSpace(out))
		}
		t.Fatalf("python3: %v\n%s", err, out)
	}
	dir := t.TempDir()
	ms := organMeshes(t, l, Options{})
	args := []string{"testdata/reference.py", patientALabels}
	for _, m := range ms {
		var paths []string
		for _, f := range []Format{STL, PLY, OBJ} {
			p := filepath.Join(dir, m.Name+f.Ext())
			if _, err := WriteFiles(p, f, []*Mesh{m}, LPS); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		args = append(args, fmt.Sprintf("%d:%s", m.Label, strings.Join(paths, ":")))
	}
	cmd := exec.Command(py, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference.py: %v\n%s", err, stderr.Bytes())
	}
	type described struct {
		V           float64   `json:"volume"`
		A           float64   `json:"area"`
		S           float64   `json:"signed_volume"`
		BadEdges    int       `json:"bad_edges"`
		Points      int       `json:"points"`
		Triangles   int       `json:"triangles"`
		Bounds      []float64 `json:"bounds"`
		FirstColour []int     `json:"first_colour"`
	}
	var res map[string]struct {
		VoxelVolume float64   `json:"voxel_volume"`
		SkimageArea float64   `json:"skimage_area"`
		STL         described `json:"stl"`
		PLY         described `json:"ply"`
		OBJ         described `json:"obj"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("reference.py's output: %v\n%s", err, out)
	}
	for _, m := range ms {
		r, ok := res[strconv.Itoa(int(m.Label))]
		if !ok {
			t.Fatalf("no reference for %s", m.Name)
		}
		t.Logf("%s: voxels %.0f mm³, VTK volume %.0f mm³ (%+.2f %%); VTK area %.0f mm², scikit-image %.0f mm² (%+.2f %%)",
			m.Name, r.VoxelVolume, r.STL.V, 100*(r.STL.V/r.VoxelVolume-1), r.STL.A, r.SkimageArea, 100*(r.STL.A/r.SkimageArea-1))
		// The task's bounds are 3 % and 10 %; measured: at most 0.44 % and
		// 0.83 %. A hair above those, so that a regression shows.
		if c := r.STL.V/r.VoxelVolume - 1; math.Abs(c) > 0.01 {
			t.Errorf("%s: VTK volume %g mm³ is %+.2f %% off the voxel volume %g", m.Name, r.STL.V, 100*c, r.VoxelVolume)
		}
		if c := r.STL.A/r.SkimageArea - 1; math.Abs(c) > 0.02 {
			t.Errorf("%s: VTK area %g mm² is %+.2f %% off scikit-image's %g", m.Name, r.STL.A, 100*c, r.SkimageArea)
		}
		if c := m.Area()/r.STL.A - 1; math.Abs(c) > 1e-4 {
			t.Errorf("%s: our area %g mm², VTK's of our STL %g", m.Name, m.Area(), r.STL.A)
		}
		for fname, d := range map[string]described{"STL": r.STL, "PLY": r.PLY, "OBJ": r.OBJ} {
			if d.BadEdges != 0 {
				t.Errorf("%s %s: VTK finds %d open or non-manifold edges", m.Name, fname, d.BadEdges)
			}
			if d.S <= 0 {
				t.Errorf("%s %s: signed volume %g: the triangles face inwards", m.Name, fname, d.S)
			}
			if d.Points != len(m.Vertices) || d.Triangles != len(m.Triangles) {
				t.Errorf("%s %s: VTK reads %d points and %d triangles, %d and %d written", m.Name, fname, d.Points, d.Triangles, len(m.Vertices), len(m.Triangles))
			}
			if math.Abs(d.V-r.STL.V) > 1e-4*r.STL.V {
				t.Errorf("%s %s: volume %g, STL's %g", m.Name, fname, d.V, r.STL.V)
			}
			// LPS: x and y are RAS's negated.
			lo, hi := m.Bounds()
			want := []float64{-float64(hi[0]), -float64(lo[0]), -float64(hi[1]), -float64(lo[1]), float64(lo[2]), float64(hi[2])}
			for k := range want {
				if math.Abs(d.Bounds[k]-want[k]) > 1e-3 {
					t.Errorf("%s %s: bounds %v, want the LPS bounds %v", m.Name, fname, d.Bounds, want)
					break
				}
			}
		}
		c := m.Color
		if got := r.PLY.FirstColour; len(got) < 3 || got[0] != int(c.R) || got[1] != int(c.G) || got[2] != int(c.B) {
			t.Errorf("%s: PLY colour %v, want %d %d %d", m.Name, got, c.R, c.G, c.B)
		}
	}
}

// TestPatientAMeasure checks Measure against the meshes and the voxels.
func TestPatientAMeasure(t *testing.T) {
	l := patientA(t)
	st, err := Measure(context.Background(), l, organs)
	if err != nil {
		t.Fatal(err)
	}
	for n, m := range organMeshes(t, l, Options{}) {
		s := st[n]
		want := float64(voxelCount(l, m.Label)) * 27 / 1000
		if math.Abs(s.VolumeML-want) > 1e-9 {
			t.Errorf("%s: volume %g mL, want %g", m.Name, s.VolumeML, want)
		}
		if math.Abs(s.SurfaceMM2-m.Area()) > 1e-6*m.Area() || math.Abs(s.MeshVolumeML*1000-m.Volume()) > 1e-6*m.Volume() {
			t.Errorf("%s: stats %+v disagree with the mesh (area %g, volume %g)", m.Name, s, m.Area(), m.Volume())
		}
		// Every pair of vertices, but for the liver's 13 000 (TestDiameterExact
		// covers the method; this covers real shapes, quickly).
		if len(m.Vertices) < 6000 {
			if d := bruteDiameter(m.Vertices); math.Abs(s.MaxDiameterMM-d) > 1e-3 {
				t.Errorf("%s: diameter %g mm, brute force %g", m.Name, s.MaxDiameterMM, d)
			}
		}
		t.Logf("%s: %.1f mL, %.0f mm², %.1f mm", m.Name, s.VolumeML, s.SurfaceMM2, s.MaxDiameterMM)
	}
}
