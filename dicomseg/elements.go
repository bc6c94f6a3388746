package dicomseg

// Building and reading datasets of github.com/suyashkumar/dicom.

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// builder makes elements and keeps the first error, so that a dataset is
// written as a list and checked once: every tag used here is in the
// library's dictionary, so an error is a programming mistake, reported
// rather than panicked.
type builder struct{ err error }

func (b *builder) el(t tag.Tag, v any) *dicom.Element {
	e, err := dicom.NewElement(t, v)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("element %v: %w", t, err)
	}
	return e
}

func (b *builder) str(t tag.Tag, v ...string) *dicom.Element {
	if v == nil {
		v = []string{}
	}
	return b.el(t, v)
}

func (b *builder) ints(t tag.Tag, v ...int) *dicom.Element { return b.el(t, v) }

// seq makes a sequence of the given items.
func (b *builder) seq(t tag.Tag, items ...[]*dicom.Element) *dicom.Element {
	if items == nil {
		items = [][]*dicom.Element{}
	}
	return b.el(t, items)
}

// code makes a code sequence holding c, with extra elements (a modifier
// sequence) in its item.
func (b *builder) code(t tag.Tag, c Code, extra ...*dicom.Element) *dicom.Element {
	item := []*dicom.Element{
		b.str(tag.CodeValue, c.Value),
		b.str(tag.CodingSchemeDesignator, c.Scheme),
		b.str(tag.CodeMeaning, c.Meaning),
	}
	return b.seq(t, append(item, extra...))
}

// sortDataset puts elements in ascending tag order, inside every sequence
// item too: PS3.5 §7.1 requires it, and dicom.Write writes elements in the
// order given.
func sortDataset(es []*dicom.Element) {
	slices.SortStableFunc(es, func(a, b *dicom.Element) int {
		if a.Tag.Group != b.Tag.Group {
			return int(a.Tag.Group) - int(b.Tag.Group)
		}
		return int(a.Tag.Element) - int(b.Tag.Element)
	})
	for _, e := range es {
		if e.Value == nil || e.Value.ValueType() != dicom.Sequences {
			continue
		}
		for _, it := range e.Value.GetValue().([]*dicom.SequenceItemValue) {
			sortDataset(it.GetValue().([]*dicom.Element))
		}
	}
}

// ds formats a number as a decimal string (DS): at most 16 characters.
func ds(x float64) string {
	for prec := -1; ; {
		s := strconv.FormatFloat(x, 'g', prec, 64)
		if len(s) <= 16 || prec == 1 {
			return s
		}
		if prec == -1 {
			prec = 16
		}
		prec--
	}
}

func dsList(xs ...float64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = ds(x)
	}
	return out
}

// newUID returns a fresh UID under the 2.25 root (PS3.5 §B.2): the
// decimal form of a random 128-bit number, as a UUID would give.
func newUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a UID: %w", err)
	}
	return "2.25." + new(big.Int).SetBytes(b[:]).String(), nil
}

// derivedUID returns a UID under 2.25 computed from parts: the same parts
// give the same UID, in every run and on every machine.
func derivedUID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "2.25." + new(big.Int).SetBytes(h[:16]).String()
}

// Reading: the library gives sequences as items of elements.

func find(es []*dicom.Element, t tag.Tag) *dicom.Element {
	for _, e := range es {
		if e.Tag == t {
			return e
		}
	}
	return nil
}

// items returns the items of sequence t in es; nil when absent or not a
// sequence.
func items(es []*dicom.Element, t tag.Tag) [][]*dicom.Element {
	e := find(es, t)
	if e == nil || e.Value == nil || e.Value.ValueType() != dicom.Sequences {
		return nil
	}
	var out [][]*dicom.Element
	for _, it := range e.Value.GetValue().([]*dicom.SequenceItemValue) {
		out = append(out, it.GetValue().([]*dicom.Element))
	}
	return out
}

// first returns the first item of sequence t, nil when there is none.
func first(es []*dicom.Element, t tag.Tag) []*dicom.Element {
	if it := items(es, t); len(it) > 0 {
		return it[0]
	}
	return nil
}

// strs returns the values of string element t, trimmed.
func strs(es []*dicom.Element, t tag.Tag) []string {
	e := find(es, t)
	if e == nil || e.Value == nil {
		return nil
	}
	v, ok := e.Value.GetValue().([]string)
	if !ok {
		return nil
	}
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = strings.TrimSpace(strings.TrimRight(s, "\x00"))
	}
	return out
}

func str1(es []*dicom.Element, t tag.Tag) string {
	if v := strs(es, t); len(v) > 0 {
		return v[0]
	}
	return ""
}

// intVals returns the values of an integer element: binary (US, UL, SS,
// SL, AT) or a decimal string (IS).
func intVals(es []*dicom.Element, t tag.Tag) ([]int, bool) {
	e := find(es, t)
	if e == nil || e.Value == nil {
		return nil, false
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		return v, true
	case []string:
		out := make([]int, len(v))
		for i, s := range v {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimRight(s, "\x00")))
			if err != nil {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	}
	return nil, false
}

func int1(es []*dicom.Element, t tag.Tag) (int, bool) {
	v, ok := intVals(es, t)
	if !ok || len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

// floatVals returns the values of a DS, FL or FD element; false when
// absent or when a value is not a finite number.
func floatVals(es []*dicom.Element, t tag.Tag) ([]float64, bool) {
	e := find(es, t)
	if e == nil || e.Value == nil {
		return nil, false
	}
	var out []float64
	switch v := e.Value.GetValue().(type) {
	case []float64:
		out = v
	case []string:
		out = make([]float64, len(v))
		for i, s := range v {
			x, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimRight(s, "\x00")), 64)
			if err != nil {
				return nil, false
			}
			out[i] = x
		}
	default:
		return nil, false
	}
	for _, x := range out {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
	}
	return out, true
}

// readCode reads the first item of code sequence t.
func readCode(es []*dicom.Element, t tag.Tag) Code {
	it := first(es, t)
	if it == nil {
		return Code{}
	}
	return Code{Scheme: str1(it, tag.CodingSchemeDesignator), Value: str1(it, tag.CodeValue), Meaning: str1(it, tag.CodeMeaning)}
}
