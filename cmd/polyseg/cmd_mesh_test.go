package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// meshLabels writes a small label file with two blocks, labels 1 (spleen)
// and 5 (liver), on evalGrid.
func meshLabels(t *testing.T, dir string) string {
	t.Helper()
	l := volume.NewLabels(evalGrid)
	fill(l, 1, [3]int{1, 1, 1}, [3]int{4, 4, 3})
	fill(l, 5, [3]int{5, 2, 2}, [3]int{9, 7, 5})
	p := filepath.Join(dir, "labels.nii.gz")
	writeLabelFile(t, p, l)
	return p
}

func stlCount(t *testing.T, path string) (header string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 84 {
		t.Fatalf("%s: %d bytes", path, len(b))
	}
	n = int(binary.LittleEndian.Uint32(b[80:]))
	if len(b) != 84+50*n {
		t.Fatalf("%s: %d bytes for %d triangles", path, len(b), n)
	}
	return string(b[:80]), n
}

func TestMesh(t *testing.T) {
	dir := t.TempDir()
	in := meshLabels(t, dir)

	code, stdout, stderr := runCmd("mesh", in, filepath.Join(dir, "organs.stl"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"spleen", "liver"} {
		p := filepath.Join(dir, "organs_"+name+".stl")
		head, n := stlCount(t, p)
		if n == 0 || !strings.Contains(head, name) || !strings.Contains(head, "SPACE=LPS") {
			t.Errorf("%s: header %q, %d triangles", p, head, n)
		}
		if !strings.Contains(stdout, "wrote "+p) {
			t.Errorf("stdout does not name %s:\n%s", p, stdout)
		}
	}

	code, _, stderr = runCmd("mesh", "--labels", "5", "--coords", "ras", "--smooth", "0", "--decimate", "0.5", in, filepath.Join(dir, "liver.stl"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if head, _ := stlCount(t, filepath.Join(dir, "liver.stl")); !strings.Contains(head, "SPACE=RAS") {
		t.Errorf("header %q", head)
	}

	code, _, stderr = runCmd("mesh", "--labels", "1,5", in, filepath.Join(dir, "organs.obj"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	obj, _ := os.ReadFile(filepath.Join(dir, "organs.obj"))
	mtl, _ := os.ReadFile(filepath.Join(dir, "organs.mtl"))
	if !strings.Contains(string(obj), "o spleen\n") || !strings.Contains(string(obj), "o liver\n") || !strings.Contains(string(mtl), "newmtl liver\n") {
		t.Errorf("obj:\n%.300s\nmtl:\n%s", obj, mtl)
	}

	code, _, stderr = runCmd("mesh", "--format", "ply", "--labels", "1", in, filepath.Join(dir, "spleen"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "spleen")); !strings.HasPrefix(string(b), "ply\nformat binary_little_endian 1.0\n") {
		t.Errorf("ply: %.100q", b)
	}
}

func TestMeshRefuses(t *testing.T) {
	dir := t.TempDir()
	in := meshLabels(t, dir)
	out := filepath.Join(dir, "x.stl")
	empty := filepath.Join(dir, "empty.nii.gz")
	writeLabelFile(t, empty, volume.NewLabels(evalGrid))
	trunc := filepath.Join(dir, "trunc.nii")
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	// The input under an STL name: writing there would replace it.
	alias := filepath.Join(dir, "alias.stl")
	if err := os.Symlink(in, alias); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"one argument", []string{in}, 2, "want a label file and an output file"},
		{"unknown extension", []string{in, filepath.Join(dir, "x.vtk")}, 2, "name it .stl, .obj or .ply"},
		{"format against extension", []string{"--format", "obj", in, out}, 2, "has extension .stl, but --format is obj"},
		{"bad format", []string{"--format", "vtk", in, filepath.Join(dir, "x")}, 2, `mesh format "vtk"`},
		{"negative smoothing", []string{"--smooth", "-1", in, out}, 2, "smoothing iterations -1"},
		{"decimation above 1", []string{"--decimate", "2", in, out}, 2, "decimation ratio 2"},
		{"decimation to nothing", []string{"--decimate", "0", in, out}, 2, "would keep no triangle"},
		{"bad coords", []string{"--coords", "xyz", in, out}, 2, `coordinate system "xyz"`},
		{"label 0", []string{"--labels", "0", in, out}, 2, "label 0 is the background"},
		{"missing input", []string{filepath.Join(dir, "nope.nii.gz"), out}, 1, "nope.nii.gz"},
		{"folder as input", []string{dir, out}, 1, "is a folder"},
		{"truncated input", []string{trunc, out}, 1, "trunc.nii"},
		{"absent label", []string{"--labels", "7", in, out}, 1, "label 7: no voxels"},
		{"empty label file", []string{empty, out}, 1, "holds no segment"},
		{"output is the input", []string{"--labels", "1", in, alias}, 2, "would replace the input"},
		{"output in a missing folder", []string{in, filepath.Join(dir, "no", "x.stl")}, 1, "no"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCmd(append([]string{"mesh"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.msg)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused run wrote %s", out)
	}
}
