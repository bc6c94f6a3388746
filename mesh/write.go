package mesh

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

// Coords is the coordinate system written to a file.
type Coords int

const (
	// LPS (x towards the patient's Left, y Posterior, z Superior) is what
	// DICOM and 3D Slicer use in files: Slicer reads STL, OBJ and PLY as
	// LPS unless the file says SPACE=RAS.
	LPS Coords = iota
	// RAS is polyseg's own (and NIfTI's) world.
	RAS
)

func (c Coords) String() string {
	if c == RAS {
		return "RAS"
	}
	return "LPS"
}

// ParseCoords reads "lps" or "ras" in any case.
func ParseCoords(s string) (Coords, error) {
	switch strings.ToLower(s) {
	case "lps":
		return LPS, nil
	case "ras":
		return RAS, nil
	}
	return 0, fmt.Errorf("coordinate system %q: want lps or ras", s)
}

// point returns p (RAS) in c. LPS negates x and y, a rotation by 180°
// about z, so the triangles keep their orientation.
func (c Coords) point(p [3]float32) [3]float32 {
	if c == LPS {
		return [3]float32{-p[0], -p[1], p[2]}
	}
	return p
}

// Format is a mesh file format.
type Format int

const (
	STL Format = iota
	OBJ
	PLY
)

func (f Format) String() string { return [...]string{"stl", "obj", "ply"}[f] }

// Ext returns the format's file extension, with its dot.
func (f Format) Ext() string { return "." + f.String() }

// ParseFormat reads "stl", "obj" or "ply" in any case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "stl":
		return STL, nil
	case "obj":
		return OBJ, nil
	case "ply":
		return PLY, nil
	}
	return 0, fmt.Errorf("mesh format %q: want stl, obj or ply", s)
}

// FormatOf returns the format named by path's extension.
func FormatOf(path string) (Format, bool) {
	f, err := ParseFormat(strings.TrimPrefix(filepath.Ext(path), "."))
	return f, err == nil
}

// title says what a file holds, for the headers and comments.
func title(m *Mesh, c Coords) string {
	// The coordinate system first, where STL's 80 bytes cannot cut it off.
	return fmt.Sprintf("polyseg SPACE=%s mm solid %s (label %d)", c, oneWord(m.Name, m.Label), m.Label)
}

// oneWord makes a segment's name safe for a header line and an OBJ name:
// white space and control characters become underscores.
func oneWord(name string, label uint16) string {
	if name == "" {
		return "label_" + strconv.Itoa(int(label))
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, name)
}

// WriteSTL writes m as binary STL: an 80-byte header naming the solid and
// the coordinate system (SPACE=LPS or SPACE=RAS, which 3D Slicer reads),
// then each triangle with its unit normal.
func WriteSTL(w io.Writer, m *Mesh, c Coords) error {
	if uint64(len(m.Triangles)) > math.MaxUint32 {
		return fmt.Errorf("%d triangles do not fit an STL file", len(m.Triangles))
	}
	var head [84]byte
	for i := range 80 {
		head[i] = ' '
	}
	// A header starting with "solid" makes some readers take the file
	// for ASCII STL; this one starts with "polyseg".
	copy(head[:80], title(m, c))
	binary.LittleEndian.PutUint32(head[80:], uint32(len(m.Triangles)))
	if _, err := w.Write(head[:]); err != nil {
		return err
	}
	var rec [50]byte
	for _, t := range m.Triangles {
		p := [3][3]float32{c.point(m.Vertices[t[0]]), c.point(m.Vertices[t[1]]), c.point(m.Vertices[t[2]])}
		n := cross(sub(vec(p[1]), vec(p[0])), sub(vec(p[2]), vec(p[0])))
		if l := norm(n); l > 0 {
			n = scale(n, 1/l)
		}
		for a := range 3 {
			binary.LittleEndian.PutUint32(rec[4*a:], math.Float32bits(float32(n[a])))
		}
		for v := range 3 {
			for a := range 3 {
				binary.LittleEndian.PutUint32(rec[12+12*v+4*a:], math.Float32bits(p[v][a]))
			}
		}
		if _, err := w.Write(rec[:]); err != nil {
			return err
		}
	}
	return nil
}

// WritePLY writes m as binary little-endian PLY with a colour per vertex
// (the segment's), comments naming the segment and SPACE=LPS or
// SPACE=RAS, and faces as lists of int indices ("vertex_indices", as VTK
// and MeshLab read them).
func WritePLY(w io.Writer, m *Mesh, c Coords) error {
	if uint64(len(m.Vertices)) > math.MaxInt32 {
		return fmt.Errorf("%d vertices do not fit PLY's int indices", len(m.Vertices))
	}
	h := fmt.Sprintf("ply\nformat binary_little_endian 1.0\ncomment %s\ncomment SPACE=%s\n"+
		"element vertex %d\nproperty float x\nproperty float y\nproperty float z\n"+
		"property uchar red\nproperty uchar green\nproperty uchar blue\n"+
		"element face %d\nproperty list uchar int vertex_indices\nend_header\n",
		title(m, c), c, len(m.Vertices), len(m.Triangles))
	if _, err := io.WriteString(w, h); err != nil {
		return err
	}
	var rec [15]byte
	rec[12], rec[13], rec[14] = m.Color.R, m.Color.G, m.Color.B
	for _, v := range m.Vertices {
		p := c.point(v)
		for a := range 3 {
			binary.LittleEndian.PutUint32(rec[4*a:], math.Float32bits(p[a]))
		}
		if _, err := w.Write(rec[:]); err != nil {
			return err
		}
	}
	var face [13]byte
	face[0] = 3
	for _, t := range m.Triangles {
		for k := range 3 {
			binary.LittleEndian.PutUint32(face[1+4*k:], t[k])
		}
		if _, err := w.Write(face[:]); err != nil {
			return err
		}
	}
	return nil
}

// WriteOBJ writes the meshes as one Wavefront OBJ file: an object per
// mesh ("o" with the segment's name) using a material of the same name
// from the material library mtl (written by WriteMTL), then its vertices
// and faces. Comments name the coordinate system (SPACE=LPS or
// SPACE=RAS) and the unit.
func WriteOBJ(w io.Writer, meshes []*Mesh, mtl string, c Coords) error {
	names := materialNames(meshes)
	b := make([]byte, 0, 1<<16)
	b = fmt.Appendf(b, "# polyseg surface meshes, millimetres\n# SPACE=%s\n", c)
	if mtl != "" {
		b = fmt.Appendf(b, "mtllib %s\n", mtl)
	}
	base := 1 // OBJ indices count from 1 through the whole file
	flush := func() error {
		if len(b) < 1<<15 {
			return nil
		}
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	for n, m := range meshes {
		b = fmt.Appendf(b, "o %s\nusemtl %s\n", names[n], names[n])
		for _, v := range m.Vertices {
			p := c.point(v)
			b = append(b, 'v')
			for a := range 3 {
				b = append(b, ' ')
				b = strconv.AppendFloat(b, float64(p[a]), 'g', -1, 32)
			}
			b = append(b, '\n')
			if err := flush(); err != nil {
				return err
			}
		}
		for _, t := range m.Triangles {
			b = append(b, 'f')
			for k := range 3 {
				b = append(b, ' ')
				b = strconv.AppendInt(b, int64(t[k])+int64(base), 10)
			}
			b = append(b, '\n')
			if err := flush(); err != nil {
				return err
			}
		}
		base += len(m.Vertices)
	}
	_, err := w.Write(b)
	return err
}

// WriteMTL writes the material library of WriteOBJ: per mesh a material
// with the segment's colour (Kd) and opacity (d).
func WriteMTL(w io.Writer, meshes []*Mesh) error {
	names := materialNames(meshes)
	var b strings.Builder
	b.WriteString("# polyseg segment colours\n")
	for n, m := range meshes {
		c := m.Color
		fmt.Fprintf(&b, "newmtl %s\nKa 0 0 0\nKd %.4f %.4f %.4f\nKs 0 0 0\nd %.4f\nillum 1\n\n",
			names[n], float64(c.R)/255, float64(c.G)/255, float64(c.B)/255, float64(c.A)/255)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// materialNames returns a distinct one-word name per mesh: its own, with
// the label value added where two meshes share one.
func materialNames(meshes []*Mesh) []string {
	count := map[string]int{}
	for _, m := range meshes {
		count[oneWord(m.Name, m.Label)]++
	}
	out := make([]string, len(meshes))
	for n, m := range meshes {
		out[n] = oneWord(m.Name, m.Label)
		if count[out[n]] > 1 {
			out[n] += "_" + strconv.Itoa(int(m.Label))
		}
	}
	return out
}

// Paths returns the files WriteFiles writes for meshes at out. One mesh
// goes to out itself. Several go to one OBJ file at out (an object each)
// with its material library beside it, or, for STL and PLY, which hold one
// solid, to one file each: out's name with "_" and the segment's name
// before the extension ("organs.stl" → "organs_liver.stl",
// "organs_spleen.stl"). An OBJ file's material library is out with the
// extension ".mtl", listed last.
func Paths(out string, f Format, meshes []*Mesh) []string {
	ext := filepath.Ext(out)
	stem := strings.TrimSuffix(out, ext)
	if f == OBJ {
		return []string{out, stem + ".mtl"}
	}
	if len(meshes) == 1 {
		return []string{out}
	}
	if ext == "" {
		ext = f.Ext()
	}
	names := fileNames(meshes)
	paths := make([]string, len(meshes))
	for n := range meshes {
		paths[n] = stem + "_" + names[n] + ext
	}
	return paths
}

// fileNames returns a distinct name per mesh that is safe in a file name.
func fileNames(meshes []*Mesh) []string {
	names := materialNames(meshes)
	for n, s := range names {
		names[n] = strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
				return r
			}
			return '_'
		}, s)
	}
	return names
}

// WriteFiles writes meshes to the files Paths names, each atomically (it
// appears complete or not at all), and returns their paths. For OBJ the
// material library is written first, so that an OBJ file on disk always
// finds its colours.
func WriteFiles(out string, f Format, meshes []*Mesh, c Coords) ([]string, error) {
	if len(meshes) == 0 {
		return nil, fmt.Errorf("write %s: no mesh to write", out)
	}
	paths := Paths(out, f, meshes)
	write := func(path string, fn func(w io.Writer) error) error {
		if err := atomicfile.WriteFile(path, 0o644, fn); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	switch f {
	case OBJ:
		mtl := paths[1]
		if err := write(mtl, func(w io.Writer) error { return WriteMTL(w, meshes) }); err != nil {
			return nil, err
		}
		err := write(paths[0], func(w io.Writer) error { return WriteOBJ(w, meshes, filepath.Base(mtl), c) })
		if err != nil {
			return nil, err
		}
	default:
		for n, m := range meshes {
			err := write(paths[n], func(w io.Writer) error {
				if f == PLY {
					return WritePLY(w, m, c)
				}
				return WriteSTL(w, m, c)
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return paths, nil
}
