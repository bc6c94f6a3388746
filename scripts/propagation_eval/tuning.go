package main

// tuning is the account of how the engine's defaults were chosen; it is
// part of docs/propagation.md.
const tuning = `
Every default was chosen on patient A only, by the mean 3D Dice over its four organs (liver, spleen,
both kidneys) and three anchor setups (largest, 25/75, middle), subject to no run past an organ's end;
patient B was only checked afterwards. Label values were never looked at: the same options run for every
organ. The sweeps (scripts/propagation_eval with the flags shown, patient A, 12 runs each; mean Dice,
worst Dice, runs with overrun):

| margin_mm | mask_logit | density model | max_mean_shift | mean Dice | worst | overrun |
|---|---|---|---|---|---|---|
| 0 | 10 | mean ± std | off | 0.830 (largest and 25/75 only) | 0.582 (left kidney, 25/75) | 2 runs, up to 45 slices |
| 6 | 10 | median ± MAD | off | 0.891 | 0.713 (liver, middle) | 1 run, 31 slices |
| 6 | 10 | median ± MAD | 2 | 0.894 | 0.713 (liver, middle) | none |
| 3 | 10 | median ± MAD | 2 | 0.887 | 0.726 (liver, middle) | none |
| 6 | 4 | median ± MAD | 2 | 0.901 | 0.760 (liver, middle) | none |
| 0 | 0 | median ± MAD | 2 | 0.821 | 0.553 (liver, middle) | none |
| 3 | 0 | median ± MAD | 2 | 0.861 | 0.494 (liver, middle) | 1 run, 24 slices |
| **6** | **0** | median ± MAD | **2** | **0.902** | 0.794 (liver, middle) | none |
| 9 | 0 | median ± MAD | 2 | 0.901 | 0.793 (liver, middle) | none |

- The density range from the mean and standard deviation let the chains run up to 45 slices past the
  kidneys: a kidney's sinus fat and partial volume at 3 mm inflate the standard deviation until the
  range admits the perirenal fat. The median and the median absolute deviation do not move with them.
- The rule on the median HU of SAM's mask (max_mean_shift) is what stops the liver chain of patient A at
  the liver's tip; without it the chain walks 31 slices down into the right kidney and the colon, whose
  density overlaps the liver's and whose edges SAM follows as well.
- A margin on the box matters here, unlike in refinement (sam-on-ct.md found +2 px worse there): an
  organ that grows from one slice to the next cannot grow past a tight box, and the chain then shrinks
  it slice after slice (the right kidney of patient A: 0.82 without a margin, 0.92 with 6 mm).
- SAM's own low-resolution logits of the previous slice (cut to the guarded mask) as the mask prompt
  let the mask follow a growing organ better than a binary ±10 prompt (patient A's liver from its middle
  slice: 0.71 → 0.79), at a small cost where the organ is largest (0.905 → 0.882).
- settle_dice (0.99) matters only when a span runs again after a correction (SAM clicks, a slice
  redrawn): each chain then carries only what the correction changed on its anchor, within grow_mm
  of where it was, and stops where its slice agrees with what it had. It was chosen on patient A's
  spleen with the robot annotator (docs/interactive.md): re-deciding the whole span from a clicked
  slice that was still worse than its neighbours cost up to 0.17 of their 2D Dice (slices 100–103 after
  a click on slice 99), and the second click left the organ worse than the first (0.925 → 0.906);
  carrying the change alone, 0.915 → 0.938 → 0.940. Patient B was not looked at for it.
- end_keep (0.7): where a chain going outward stops, the slice keeps the part of SAM's mask that passed
  the guards (the organ's density, within grow_mm of the slice before and touching it) when it is at
  most 0.7 of the slice before; until now that slice was left empty. At an organ's pole partial volume
  mixes it with the fat around it, and the stop rules (density share, median HU) fire on a slice that
  still holds its tip. Swept on patient A (` + "`-end-keep`" + `, all four organs from the three anchor setups,
  mean 3D Dice): 0 (empty, as before) 0.8846, 0.5 0.8857, **0.7 0.8873**, 1 0.8872. 0.7 takes both
  kidneys up by 0.003 to 0.006 from every setup (the left kidney's slices below a 2D Dice of 0.8: 2 → 0
  from its largest slice) and the spleen by up to 0.004; 1 also kept a slice below the liver's lower
  end, where the chain had already overrun the tip (143 pixels after 170; the reference has none).
  Patient B's organs span all its slices, so no chain of B stops outward and it cannot tell.
- neck_mm (4): a piece of a slice's guarded mask joined to the rest through a neck narrower than 8 mm and
  lying mostly off the slice before is a neighbour of the organ's density coming in, and goes. On patient
  A the abdominal wall beside the liver's lower half (non-contrast, a fat plane of one 3 mm pixel between
  them) entered the liver's mask on one slice through a few pixels of contact and was carried to the
  liver's end, 100–150 pixels a slice. Swept on patient A (` + "`-neck-mm`" + `, all four organs from the three anchor
  setups, mean 3D Dice): 0 (off, as before) 0.8873, 3 0.8898, **4 0.8905** (the box guard's neck), 6
  0.8868; at 4 the liver from its largest slice goes from 0.888 to 0.912 and from its middle slice from
  0.595 to 0.608, and no other organ of A changes by more than 0.001. Patient B (held out) is unchanged.
- reference_spacing_mm (3) is patient A's slice spacing, on which grow_mm was tuned; min_hu_spread
  (10 HU), core_erosion_px (1.5), min_core_pixels (16), min_shift_std_hu (5 HU),
  confidence_iou_from (0.8) and confidence_area_share (0.25) were constants of the engine before they
  were named; their reasons are in the table above, and none was swept.
- grow_mm (6, and 9 changing nothing), hu_std (3, as in refinement), min_hu_fraction (0.5),
  min_iou (0.5), min_area_ratio (0.15), min_area_mm2 (20) and max_outside (0.5) were set once from
  the traces (` + "`-trace`" + ` prints every slice's Dice, confidence and the engine's note) and not swept.

What is left: an organ that splits into pieces which join again further on (the liver's lobes below
its largest slice) loses the pieces that appear apart from the previous slice's mask, since a chain
keeps only what touches it; starting from the slice of largest area avoids most of that, and a second
anchor (Shift+P) or a correction where the strip turns red brings them back. The PerSAM idea (prompt
points where the image embedding resembles the anchor's) was measured as evidence and not kept: the
mean embedding of a propagated mask resembled the anchor's about as much on the wrong structure
(median cosine 0.84) as on the organ's end slices (5th percentile 0.86).
`
