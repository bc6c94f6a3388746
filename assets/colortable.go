package assets

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

//go:embed colortables/totalsegmentator_v2.txt
var totalSegmentatorV2 []byte

// maxLineLength bounds a colour-table line: no sensible line is longer than
// a few hundred bytes. The number of entries needs no limit of its own:
// values are unique uint16s, so there are at most 65536.
const maxLineLength = 4096

// Label names and colours one label value.
type Label struct {
	Value uint16
	Name  string
	// Color is the label's colour; its alpha is the label's own opacity,
	// multiplied by the overlay opacity when drawn.
	Color color.NRGBA
}

// ColorTable maps label values to names and colours. The zero value is an
// empty table in which every value gets its fallback colour. A ColorTable is
// not safe for concurrent mutation; reading it from several goroutines is.
type ColorTable struct {
	labels []Label // sorted by Value, unique
}

// ErrFormat is wrapped by every error about malformed colour-table text.
var ErrFormat = errors.New("invalid colour table")

// NewColorTable returns a table holding labels. Names must be non-empty
// single words and values unique.
func NewColorTable(labels []Label) (*ColorTable, error) {
	ls := make([]Label, len(labels))
	copy(ls, labels)
	sort.Slice(ls, func(a, b int) bool { return ls[a].Value < ls[b].Value })
	for n, l := range ls {
		if err := checkName(l.Name); err != nil {
			return nil, fmt.Errorf("label %d: %w", l.Value, err)
		}
		if n > 0 && ls[n-1].Value == l.Value {
			return nil, fmt.Errorf("label %d listed twice", l.Value)
		}
	}
	return &ColorTable{labels: ls}, nil
}

func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return fmt.Errorf("name %q contains white space", name)
	}
	return nil
}

// DefaultColorTable returns a fresh copy of the bundled table of
// TotalSegmentator v2's "total" classes (1 spleen, 2 kidney_right,
// 3 kidney_left, 4 gallbladder, 5 liver, 6 stomach, 7 pancreas, ...,
// 117 costal_cartilages). Callers may modify it.
func DefaultColorTable() *ColorTable {
	t, err := ReadColorTable(bytes.NewReader(totalSegmentatorV2))
	if err != nil {
		// The file is compiled in and covered by tests: failing here is a
		// build defect, not bad input.
		panic("assets: bundled colour table: " + err.Error())
	}
	return t
}

// Len returns the number of listed labels.
func (t *ColorTable) Len() int {
	if t == nil {
		return 0
	}
	return len(t.labels)
}

// Labels returns a copy of the listed labels, sorted by value.
func (t *ColorTable) Labels() []Label {
	if t == nil {
		return nil
	}
	ls := make([]Label, len(t.labels))
	copy(ls, t.labels)
	return ls
}

func (t *ColorTable) find(v uint16) (int, bool) {
	if t == nil {
		return 0, false
	}
	n := sort.Search(len(t.labels), func(i int) bool { return t.labels[i].Value >= v })
	return n, n < len(t.labels) && t.labels[n].Value == v
}

// Lookup returns the entry for value v and whether it is listed.
func (t *ColorTable) Lookup(v uint16) (Label, bool) {
	n, ok := t.find(v)
	if !ok {
		return Label{}, false
	}
	return t.labels[n], true
}

// Color returns v's colour: the listed one, or FallbackColor(v). A nil
// table gives fallback colours for every value.
func (t *ColorTable) Color(v uint16) color.NRGBA {
	if l, ok := t.Lookup(v); ok {
		return l.Color
	}
	return FallbackColor(v)
}

// Name returns v's name, or "label_<v>" for an unlisted value.
func (t *ColorTable) Name(v uint16) string {
	if l, ok := t.Lookup(v); ok {
		return l.Name
	}
	return "label_" + strconv.Itoa(int(v))
}

// Set adds l or replaces the entry with the same value.
func (t *ColorTable) Set(l Label) error {
	if err := checkName(l.Name); err != nil {
		return fmt.Errorf("label %d: %w", l.Value, err)
	}
	n, ok := t.find(l.Value)
	if ok {
		t.labels[n] = l
		return nil
	}
	t.labels = append(t.labels, Label{})
	copy(t.labels[n+1:], t.labels[n:])
	t.labels[n] = l
	return nil
}

// Delete removes the entry for v, if any; v then gets its fallback colour.
func (t *ColorTable) Delete(v uint16) {
	if n, ok := t.find(v); ok {
		t.labels = append(t.labels[:n], t.labels[n+1:]...)
	}
}

// FallbackColor returns an opaque colour for a label value no table lists.
// Hues follow the golden angle, so consecutive values get clearly different
// colours, and saturation and brightness alternate to separate values whose
// hues come close. Value 0 (background) is transparent black.
func FallbackColor(v uint16) color.NRGBA {
	if v == 0 {
		return color.NRGBA{}
	}
	h := math.Mod(float64(v)*0.6180339887498949, 1)
	s := 0.55 + 0.3*float64((v/2)%2)
	val := 0.95 - 0.2*float64((v/4)%2)
	r, g, b := hsvToRGB(h, s, val)
	return color.NRGBA{R: r, G: g, B: b, A: 255}
}

// hsvToRGB converts h, s, v in [0, 1] as Python's colorsys does, which
// generated the bundled table.
func hsvToRGB(h, s, v float64) (r, g, b uint8) {
	i := math.Floor(h * 6)
	f := h*6 - i
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	var rf, gf, bf float64
	switch int(i) % 6 {
	case 0:
		rf, gf, bf = v, t, p
	case 1:
		rf, gf, bf = q, v, p
	case 2:
		rf, gf, bf = p, v, t
	case 3:
		rf, gf, bf = p, q, v
	case 4:
		rf, gf, bf = t, p, v
	default:
		rf, gf, bf = v, p, q
	}
	return uint8(math.Round(rf * 255)), uint8(math.Round(gf * 255)), uint8(math.Round(bf * 255))
}

// ReadColorTable parses colour-table text (see the package documentation).
func ReadColorTable(r io.Reader) (*ColorTable, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLineLength)
	var labels []Label
	seen := make(map[uint16]bool)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		l, err := parseLine(text)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrFormat, line, err)
		}
		if seen[l.Value] {
			return nil, fmt.Errorf("%w: line %d: value %d listed twice", ErrFormat, line, l.Value)
		}
		seen[l.Value] = true
		labels = append(labels, l)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line %d longer than %d bytes", ErrFormat, line+1, maxLineLength)
		}
		return nil, fmt.Errorf("read colour table: %w", err)
	}
	return NewColorTable(labels)
}

func parseLine(text string) (Label, error) {
	f := strings.Fields(text)
	if len(f) != 6 {
		return Label{}, fmt.Errorf("want 6 fields \"value name r g b a\", got %d", len(f))
	}
	v, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil {
		return Label{}, fmt.Errorf("value %q: not an integer in 0..65535", f[0])
	}
	var c [4]uint8
	for n := range c {
		x, err := strconv.ParseUint(f[2+n], 10, 8)
		if err != nil {
			return Label{}, fmt.Errorf("colour component %q: not an integer in 0..255", f[2+n])
		}
		c[n] = uint8(x)
	}
	return Label{Value: uint16(v), Name: f[1], Color: color.NRGBA{R: c[0], G: c[1], B: c[2], A: c[3]}}, nil
}

// WriteTo writes the table as colour-table text.
func (t *ColorTable) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	var n int64
	k, _ := io.WriteString(bw, "# polyseg colour table: value name r g b a\n")
	n += int64(k)
	for _, l := range t.Labels() {
		k, _ = fmt.Fprintf(bw, "%d %s %d %d %d %d\n", l.Value, l.Name, l.Color.R, l.Color.G, l.Color.B, l.Color.A)
		n += int64(k)
	}
	// bufio.Writer keeps the first error; Flush reports it.
	return n, bw.Flush()
}

// ReadColorTableFile reads a colour-table file.
func ReadColorTableFile(path string) (*ColorTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read colour table: %w", err)
	}
	defer f.Close()
	t, err := ReadColorTable(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return t, nil
}

// WriteColorTableFile writes t to path atomically: to a temporary file in
// the same directory, renamed over path once complete, so a crash never
// leaves a half-written table.
func WriteColorTableFile(path string, t *ColorTable) error {
	err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := t.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
