package phantom

// Label values of the TotalSegmentator v2 class map, so that phantom label
// volumes, the real fixtures and models trained on either agree.
const (
	Spleen         uint16 = 1
	KidneyRight    uint16 = 2
	KidneyLeft     uint16 = 3
	Gallbladder    uint16 = 4
	Liver          uint16 = 5
	Stomach        uint16 = 6
	SmallBowel     uint16 = 18
	Duodenum       uint16 = 19
	Colon          uint16 = 20
	UrinaryBladder uint16 = 21
	// VertebraS1 .. VertebraT9 are consecutive values: TotalSegmentator
	// numbers the vertebrae from S1 (26) upwards to C1 (50).
	VertebraS1        uint16 = 26
	VertebraL2        uint16 = 30
	VertebraT9        uint16 = 35
	Aorta             uint16 = 52
	InferiorVenaCava  uint16 = 63
	PortalSplenicVein uint16 = 64
)

// LabelNames maps every label value a phantom can contain to its
// TotalSegmentator v2 name.
func LabelNames() map[uint16]string {
	m := map[uint16]string{
		Spleen:            "spleen",
		KidneyRight:       "kidney_right",
		KidneyLeft:        "kidney_left",
		Gallbladder:       "gallbladder",
		Liver:             "liver",
		Stomach:           "stomach",
		SmallBowel:        "small_bowel",
		Duodenum:          "duodenum",
		Colon:             "colon",
		UrinaryBladder:    "urinary_bladder",
		Aorta:             "aorta",
		InferiorVenaCava:  "inferior_vena_cava",
		PortalSplenicVein: "portal_vein_and_splenic_vein",
		Pancreas:          "pancreas",
		Sacrum:            "sacrum",
	}
	vert := []string{"S1", "L5", "L4", "L3", "L2", "L1", "T12", "T11", "T10", "T9"}
	for i, n := range vert {
		m[VertebraS1+uint16(i)] = "vertebrae_" + n
	}
	return m
}

// Pancreas and Sacrum complete the TotalSegmentator values the phantom uses.
const (
	Pancreas uint16 = 7
	Sacrum   uint16 = 25
)
