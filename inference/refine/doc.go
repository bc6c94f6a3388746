// Package refine lets SAM correct masks: a coarse label volume, slice by
// slice and component by component (Volume, Slice), a shape interpolated
// between annotated slices (FillBetween), SAM correcting each slice within
// a bound calibrated on the slices the user drew, and the prompts an
// annotator gives on one slice (Prompter: a box, clicks that say "this
// too" or "not this", SAM's previous answer), guarded against leaks
// (Guard).
//
// # Invariants
//
//   - Voxels of other labels are never changed.
//   - A component keeps its coarse shape unless SAM's answer passes the
//     keep-or-replace rules (Options); a kept component comes back exactly
//     as it was.
//   - FillBetween never extends a label beyond its outermost annotated
//     slices and never changes the annotated slices.
//   - A click is the user's word: the pixel under it ends as it said, and
//     no guard removes a piece holding a positive click.
//   - The zero value of every options struct (Options, FillOptions,
//     GuardOptions, ClickOptions) gives its defaults.
package refine
