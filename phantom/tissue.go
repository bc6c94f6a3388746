package phantom

// tissue is what the rasteriser paints; each case turns tissues into HU with
// its own table, so a patient's organs can differ from the next patient's
// (a fatty liver, denser bones) without repainting.
type tissue uint8

const (
	tAir tissue = iota
	tLung
	tFat
	tSkin
	tMuscle
	tLiver
	tSpleen
	tKidneyCortex
	tKidneyMedulla
	tUrine
	tBile
	tBowelWall
	tBowelFluid
	tFeces
	tArtery
	tVein
	tPortal
	tCancellous
	tCortical
	tArch
	tDisc
	tCSF
	tCartilage
	tPancreas
	tTable
	nTissues
)

// tissueHU holds, per tissue, the mean HU without and with portal-venous
// contrast and the amplitude (HU, one standard deviation) of its smooth
// texture. The non-contrast means are calibrated on patient A of the real
// fixtures, the portal-venous ones on patient B (liver 91, spleen 81,
// aorta 180, vena cava 96, portal vein 137 HU) and the usual values
// (kidney cortex about 180); docs/phantom.md has the table.
var tissueHU = [nTissues]struct{ nc, pv, tex float64 }{
	tAir:           {-1000, -1000, 0},
	tLung:          {-860, -860, 25},
	tFat:           {-102, -102, 9},
	tSkin:          {20, 40, 6},
	tMuscle:        {42, 52, 7},
	tLiver:         {49, 99, 4},
	tSpleen:        {38, 92, 4},
	tKidneyCortex:  {32, 180, 6},
	tKidneyMedulla: {28, 120, 6},
	tUrine:         {8, 8, 3},
	tBile:          {6, 6, 3},
	tBowelWall:     {38, 85, 6},
	tBowelFluid:    {12, 14, 5},
	tFeces:         {-60, -60, 60},
	tArtery:        {42, 175, 3},
	tVein:          {40, 110, 3},
	tPortal:        {40, 145, 3},
	tCancellous:    {115, 115, 55},
	tCortical:      {600, 600, 40},
	tArch:          {230, 230, 40},
	tDisc:          {85, 90, 8},
	tCSF:           {12, 12, 3},
	tCartilage:     {110, 115, 10},
	tPancreas:      {22, 85, 18},
	tTable:         {150, 150, 10},
}
