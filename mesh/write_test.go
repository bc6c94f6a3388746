package mesh

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

func smallMesh(t *testing.T, name string, label uint16) *Mesh {
	t.Helper()
	l := labelsFrom([3]int{4, 3, 3}, volume.Affine{{1, 0, 0, 10}, {0, 2, 0, -20}, {0, 0, 3, 30}, {0, 0, 0, 1}},
		func(i, j, k int) bool { return i > 0 && i < 3 && j == 1 && k == 1 })
	m, err := Extract(context.Background(), l, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Name, m.Label, m.Color = name, label, color.NRGBA{200, 100, 50, 255}
	return m
}

func TestSTL(t *testing.T) {
	m := smallMesh(t, "liver", 5)
	for _, c := range []Coords{LPS, RAS} {
		var b bytes.Buffer
		if err := WriteSTL(&b, m, c); err != nil {
			t.Fatal(err)
		}
		data := b.Bytes()
		if len(data) != 84+50*len(m.Triangles) {
			t.Fatalf("%d bytes for %d triangles", len(data), len(m.Triangles))
		}
		head := string(data[:80])
		if strings.HasPrefix(head, "solid") || !strings.Contains(head, "SPACE="+c.String()) || !strings.Contains(head, "liver") {
			t.Errorf("header %q", head)
		}
		if n := binary.LittleEndian.Uint32(data[80:]); int(n) != len(m.Triangles) {
			t.Errorf("count %d", n)
		}
		for n, tr := range m.Triangles {
			rec := data[84+50*n:]
			f := func(k int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(rec[4*k:])) }
			for v := range 3 {
				want := c.point(m.Vertices[tr[v]])
				for a := range 3 {
					if got := f(3 + 3*v + a); got != want[a] {
						t.Fatalf("%s triangle %d vertex %d: %v, want %v", c, n, v, got, want)
					}
				}
			}
			// The stored normal agrees with the vertex order.
			p := [3]v3{}
			for v := range 3 {
				p[v] = vec(c.point(m.Vertices[tr[v]]))
			}
			nrm := cross(sub(p[1], p[0]), sub(p[2], p[0]))
			if dot(nrm, v3{float64(f(0)), float64(f(1)), float64(f(2))}) <= 0 {
				t.Fatalf("%s triangle %d: normal disagrees with the winding", c, n)
			}
		}
	}
}

func TestPLY(t *testing.T) {
	m := smallMesh(t, "spleen", 1)
	var b bytes.Buffer
	if err := WritePLY(&b, m, LPS); err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(b.Bytes(), []byte("end_header\n"))
	if !ok {
		t.Fatal("no end_header")
	}
	h := string(head)
	for _, want := range []string{"format binary_little_endian 1.0\n", "comment SPACE=LPS\n", "spleen",
		"element vertex " + strconv.Itoa(len(m.Vertices)) + "\n", "element face " + strconv.Itoa(len(m.Triangles)) + "\n",
		"property uchar red\n", "property list uchar int vertex_indices\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%s", want, h)
		}
	}
	if want := 15*len(m.Vertices) + 13*len(m.Triangles); len(body) != want {
		t.Fatalf("%d bytes of data, want %d", len(body), want)
	}
	for v, p := range m.Vertices {
		rec := body[15*v:]
		for a := range 3 {
			want := LPS.point(p)[a]
			if got := math.Float32frombits(binary.LittleEndian.Uint32(rec[4*a:])); got != want {
				t.Fatalf("vertex %d: %v, want %v", v, got, want)
			}
		}
		if rec[12] != 200 || rec[13] != 100 || rec[14] != 50 {
			t.Fatalf("vertex %d colour %v", v, rec[12:15])
		}
	}
	faces := body[15*len(m.Vertices):]
	for n, tr := range m.Triangles {
		f := faces[13*n:]
		if f[0] != 3 {
			t.Fatalf("face %d has %d corners", n, f[0])
		}
		for k := range 3 {
			if got := binary.LittleEndian.Uint32(f[1+4*k:]); got != tr[k] {
				t.Fatalf("face %d: %d, want %d", n, got, tr[k])
			}
		}
	}
}

func TestOBJ(t *testing.T) {
	a, b := smallMesh(t, "kidney right", 2), smallMesh(t, "kidney right", 3)
	for n := range b.Vertices {
		b.Vertices[n][0] += 100
	}
	dir := t.TempDir()
	paths, err := WriteFiles(filepath.Join(dir, "kidneys.obj"), OBJ, []*Mesh{a, b}, RAS)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "kidneys.obj"), filepath.Join(dir, "kidneys.mtl")}; !slices.Equal(paths, want) {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	obj, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	mtl, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	// Names with a space become one word; two alike get their labels.
	for _, want := range []string{"newmtl kidney_right_2\n", "newmtl kidney_right_3\n", "Kd 0.7843 0.3922 0.1961\n", "d 1.0000\n"} {
		if !strings.Contains(string(mtl), want) {
			t.Errorf("mtl lacks %q:\n%s", want, mtl)
		}
	}
	var verts [][3]float32
	var faces [][3]int
	var objects []string
	sc := bufio.NewScanner(bytes.NewReader(obj))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "v":
			var p [3]float32
			for k := range 3 {
				x, err := strconv.ParseFloat(f[1+k], 32)
				if err != nil {
					t.Fatal(err)
				}
				p[k] = float32(x)
			}
			verts = append(verts, p)
		case "f":
			var q [3]int
			for k := range 3 {
				q[k], _ = strconv.Atoi(f[1+k])
			}
			faces = append(faces, q)
		case "o":
			objects = append(objects, f[1])
		case "mtllib":
			if f[1] != "kidneys.mtl" {
				t.Errorf("mtllib %s", f[1])
			}
		}
	}
	if !slices.Equal(objects, []string{"kidney_right_2", "kidney_right_3"}) {
		t.Errorf("objects %v", objects)
	}
	all := append(slices.Clone(a.Vertices), b.Vertices...)
	if !slices.Equal(verts, all) {
		t.Fatalf("vertices differ (float32 must round-trip exactly)")
	}
	off := uint32(len(a.Vertices))
	for n, f := range faces {
		want := [3]int{}
		if n < len(a.Triangles) {
			tr := a.Triangles[n]
			want = [3]int{int(tr[0]) + 1, int(tr[1]) + 1, int(tr[2]) + 1}
		} else {
			tr := b.Triangles[n-len(a.Triangles)]
			want = [3]int{int(tr[0]+off) + 1, int(tr[1]+off) + 1, int(tr[2]+off) + 1}
		}
		if f != want {
			t.Fatalf("face %d: %v, want %v", n, f, want)
		}
	}
	if !strings.Contains(string(obj), "# SPACE=RAS\n") {
		t.Error("no SPACE=RAS comment")
	}
}

func TestPaths(t *testing.T) {
	liver, spleen := &Mesh{Name: "liver", Label: 5}, &Mesh{Name: "spleen/x", Label: 1}
	cases := []struct {
		out    string
		f      Format
		meshes []*Mesh
		want   []string
	}{
		{"a/organs.stl", STL, []*Mesh{liver}, []string{"a/organs.stl"}},
		{"a/organs.stl", STL, []*Mesh{liver, spleen}, []string{"a/organs_liver.stl", "a/organs_spleen_x.stl"}},
		{"a/organs.ply", PLY, []*Mesh{liver, spleen}, []string{"a/organs_liver.ply", "a/organs_spleen_x.ply"}},
		{"a/organs", PLY, []*Mesh{liver, spleen}, []string{"a/organs_liver.ply", "a/organs_spleen_x.ply"}},
		{"a/organs.obj", OBJ, []*Mesh{liver, spleen}, []string{"a/organs.obj", "a/organs.mtl"}},
		{"a/organs.obj", OBJ, []*Mesh{liver}, []string{"a/organs.obj", "a/organs.mtl"}},
	}
	for _, c := range cases {
		if got := Paths(c.out, c.f, c.meshes); !slices.Equal(got, c.want) {
			t.Errorf("Paths(%s, %s, %d meshes) = %v, want %v", c.out, c.f, len(c.meshes), got, c.want)
		}
	}
}

func TestWriteFilesRefuses(t *testing.T) {
	m := smallMesh(t, "liver", 5)
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "folder", "liver.stl")
	_, err := WriteFiles(missing, STL, []*Mesh{m}, LPS)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("writing into a missing folder: %v", err)
	}
	if _, err := WriteFiles(filepath.Join(dir, "x.stl"), STL, nil, LPS); err == nil {
		t.Error("no meshes accepted")
	}
	// A failed write leaves nothing behind, not even a temporary file.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestParse(t *testing.T) {
	for s, want := range map[string]Format{"stl": STL, "OBJ": OBJ, "Ply": PLY} {
		if f, err := ParseFormat(s); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("vtk"); err == nil {
		t.Error("vtk accepted")
	}
	if f, ok := FormatOf("x/y.PLY"); !ok || f != PLY {
		t.Errorf("FormatOf: %v %v", f, ok)
	}
	if _, ok := FormatOf("x/y.nii"); ok {
		t.Error("FormatOf(.nii) ok")
	}
	for s, want := range map[string]Coords{"lps": LPS, "RAS": RAS} {
		if c, err := ParseCoords(s); err != nil || c != want {
			t.Errorf("ParseCoords(%q) = %v, %v", s, c, err)
		}
	}
	if _, err := ParseCoords("xyz"); err == nil {
		t.Error("xyz accepted")
	}
}
