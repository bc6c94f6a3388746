package dicomseg

import (
	"slices"
	"strconv"

	"github.com/polyseg/polyseg/assets"
)

// Describe describes label values as segments: name and colour from
// table (a value it lacks is called "label_N", with its fallback colour),
// coding from the SNOMED CT mapping, algorithm from alg.
func Describe(values []uint16, table *assets.ColorTable, alg func(v uint16) Algorithm) []Segment {
	out := make([]Segment, 0, len(values))
	for _, v := range slices.Sorted(slices.Values(values)) {
		l, ok := table.Lookup(v)
		if !ok || l.Name == "" {
			l = assets.Label{Value: v, Name: "label_" + strconv.Itoa(int(v)), Color: assets.FallbackColor(v)}
		}
		out = append(out, Segment{Value: v, Label: l.Name, Color: l.Color, Algorithm: alg(v), Coding: CodingFor(l.Name)})
	}
	return out
}
