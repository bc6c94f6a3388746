// Package refine lets SAM correct masks: a coarse label volume, slice by
// slice and component by component (Volume, Slice), and a shape
// interpolated between annotated slices (FillBetween), SAM correcting each
// slice within a bound calibrated on the slices the user drew.
//
// # Invariants
//
//   - Voxels of other labels are never changed.
//   - A component keeps its coarse shape unless SAM's answer passes the
//     keep-or-replace rules (Options); a kept component comes back exactly
//     as it was.
//   - FillBetween never extends a label beyond its outermost annotated
//     slices and never changes the annotated slices.
package refine
