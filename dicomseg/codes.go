package dicomseg

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
)

// Code is one coded concept of a DICOM code sequence item (PS3.3 §8.8).
type Code struct {
	Scheme  string // CodingSchemeDesignator, e.g. "SCT" for SNOMED CT
	Value   string // CodeValue
	Meaning string // CodeMeaning
}

// IsZero reports whether c names nothing.
func (c Code) IsZero() bool { return c.Scheme == "" && c.Value == "" }

// Same reports whether two codes name the same concept: the meaning is a
// label, not part of the identity.
func (c Code) Same(o Code) bool { return c.Scheme == o.Scheme && c.Value == o.Value }

func (c Code) String() string { return fmt.Sprintf("(%s, %s, %q)", c.Value, c.Scheme, c.Meaning) }

// Coding is what a segment says it is: its category and type, with the
// type's modifier (the side, for paired organs) and, where the type alone
// does not say where, the anatomic region and its modifier.
type Coding struct {
	Category       Code
	Type           Code
	TypeModifier   Code
	Region         Code
	RegionModifier Code
}

// Same reports whether two codings name the same structure.
func (c Coding) Same(o Coding) bool {
	return c.Category.Same(o.Category) && c.Type.Same(o.Type) && c.TypeModifier.Same(o.TypeModifier) &&
		c.Region.Same(o.Region) && c.RegionModifier.Same(o.RegionModifier)
}

// totalSegmentatorCodes is TotalSegmentator's mapping of its class names to
// SNOMED CT codes (resources/totalsegmentator_snomed_mapping.csv in
// wasserth/TotalSegmentator, Apache-2.0; see the README beside this file).
//
//go:embed totalsegmentator_snomed_mapping.csv
var totalSegmentatorCodes []byte

// genericTissue codes a structure the mapping does not know, as 3D
// Slicer's terminology does for a new segment: category and type "Tissue".
var genericTissue = Coding{
	Category: Code{"SCT", "85756007", "Tissue"},
	Type:     Code{"SCT", "85756007", "Tissue"},
}

var (
	codesOnce   sync.Once
	codesByName map[string]Coding
	codesErr    error
)

// parseCodes reads the embedded mapping. Its columns are, in order: the
// class name, then scheme, value and meaning of the category, the type,
// the type modifier, the anatomic region and the region modifier, then an
// RGB colour this package does not use (the colour table has its own).
func parseCodes(b []byte) (map[string]Coding, error) {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("SNOMED CT mapping: %w", err)
	}
	if len(rows) < 2 || len(rows[0]) < 16 || rows[0][0] != "Structure" {
		return nil, fmt.Errorf("SNOMED CT mapping: unexpected header %q", rows[0])
	}
	code := func(r []string, at int) Code {
		return Code{Scheme: strings.TrimSpace(r[at]), Value: strings.TrimSpace(r[at+1]), Meaning: strings.TrimSpace(r[at+2])}
	}
	out := make(map[string]Coding, len(rows)-1)
	for n, r := range rows[1:] {
		if len(r) < 16 {
			return nil, fmt.Errorf("SNOMED CT mapping: line %d has %d fields", n+2, len(r))
		}
		c := Coding{Category: code(r, 1), Type: code(r, 4), TypeModifier: code(r, 7), Region: code(r, 10), RegionModifier: code(r, 13)}
		if c.Category.IsZero() || c.Type.IsZero() {
			return nil, fmt.Errorf("SNOMED CT mapping: line %d (%s) lacks a category or a type", n+2, r[0])
		}
		out[strings.ToLower(strings.TrimSpace(r[0]))] = c
	}
	return out, nil
}

func loadCodes() (map[string]Coding, error) {
	codesOnce.Do(func() { codesByName, codesErr = parseCodes(totalSegmentatorCodes) })
	return codesByName, codesErr
}

// LookupCoding returns the SNOMED CT coding of a TotalSegmentator class
// name ("liver", "kidney_left"; case does not matter), and whether the
// mapping has it.
func LookupCoding(name string) (Coding, bool) {
	m, err := loadCodes()
	if err != nil {
		return Coding{}, false
	}
	c, ok := m[strings.ToLower(name)]
	return c, ok
}

// CodingFor returns the coding of a segment named name: the mapping's, or
// the generic "Tissue" coding for a name it does not know.
func CodingFor(name string) Coding {
	if c, ok := LookupCoding(name); ok {
		return c
	}
	return genericTissue
}

// nameForCoding returns the class name the mapping gives coding c, if
// exactly one.
func nameForCoding(c Coding) (string, bool) {
	m, err := loadCodes()
	if err != nil || c.Same(genericTissue) {
		return "", false
	}
	found := ""
	for name, mc := range m {
		if mc.Same(c) {
			if found != "" {
				return "", false
			}
			found = name
		}
	}
	return found, found != ""
}
