package realdata

import "testing"

func TestPatientB(t *testing.T) {
	v, ref, _ := PatientB(t, "../../../shared/data/real/totalsegmentator")
	if !v.Grid.Equal(ref.Grid, 1e-6) {
		t.Errorf("labels on grid %v, want the series' %v", ref.Grid, v.Grid)
	}
	if ref.Max() == 0 {
		t.Error("reference labels are empty")
	}
}
