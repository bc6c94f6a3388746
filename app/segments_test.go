package app

import (
	"image/color"
	"slices"
	"testing"
)

func values(segs []Segment) []uint16 {
	var out []uint16
	for _, s := range segs {
		out = append(out, s.Value)
	}
	return out
}

func TestAddSegment(t *testing.T) {
	s := newTestSession(t, Options{})
	s.Paint("setup", []int{1, 2}, 1)
	tests := []struct {
		name      string
		wantValue uint16
		wantName  string
		wantErr   bool
	}{
		{"liver", 5, "liver", false},               // from the colour table, with its value
		{"Liver", 0, "", true},                     // listed already
		{"spleen", 0, "", true},                    // present already
		{"tumour core", 118, "tumour_core", false}, // new: above the table's 117
		{"lesion", 119, "lesion", false},
		{"   ", 0, "", true},
	}
	for _, tt := range tests {
		v, err := s.AddSegment(tt.name)
		if (err != nil) != tt.wantErr {
			t.Errorf("AddSegment(%q): %v", tt.name, err)
			continue
		}
		if err != nil {
			continue
		}
		seg := s.SegmentOf(v)
		if v != tt.wantValue || seg.Name != tt.wantName || seg.Voxels != 0 {
			t.Errorf("AddSegment(%q) = %d %q (%d voxels), want %d %q", tt.name, v, seg.Name, seg.Voxels, tt.wantValue, tt.wantName)
		}
	}
	if got, want := values(s.Segments()), []uint16{1, 5, 118, 119}; !slices.Equal(got, want) {
		t.Errorf("segments %v, want %v", got, want)
	}
	if c := s.SegmentOf(118).Color; c.A != 255 || c == s.SegmentOf(119).Color {
		t.Errorf("new segments' colours %v, %v: want opaque and distinct", c, s.SegmentOf(119).Color)
	}
}

func TestSetSegmentRenamesAndRecolours(t *testing.T) {
	s := newTestSession(t, Options{})
	s.Paint("setup", []int{1}, 5)
	red := color.NRGBA{R: 255, A: 255}
	if err := s.SetSegment(5, "liver left lobe", red); err != nil {
		t.Fatal(err)
	}
	seg := s.SegmentOf(5)
	if seg.Name != "liver_left_lobe" || seg.Color != red {
		t.Errorf("segment after SetSegment: %+v", seg)
	}
	if err := s.SetSegment(5, "", red); err == nil {
		t.Error("an empty name was accepted")
	}
	if err := s.SetSegment(0, "x", red); err == nil {
		t.Error("the background was renamed")
	}
}

func TestRenumberSegment(t *testing.T) {
	s := newTestSession(t, Options{})
	s.Paint("setup", []int{1, 2, 3}, 5)
	s.Paint("setup", []int{4}, 1)
	s.SetHidden(5, true)
	before := labelsOf(s)
	n, err := s.RenumberSegment(5, 200)
	if err != nil || n != 3 {
		t.Fatalf("RenumberSegment = %d, %v; want 3 voxels", n, err)
	}
	seg := s.SegmentOf(200)
	if seg.Name != "liver" || seg.Voxels != 3 || !seg.Hidden {
		t.Errorf("renumbered segment %+v: want liver's name, 3 voxels, hidden", seg)
	}
	if got := values(s.Segments()); !slices.Equal(got, []uint16{1, 200}) {
		t.Errorf("segments %v after renumbering", got)
	}
	if _, err := s.RenumberSegment(200, 1); err == nil {
		t.Error("renumbering onto a value in use was accepted")
	}
	if _, err := s.RenumberSegment(200, 0); err == nil {
		t.Error("renumbering to the background was accepted")
	}
	if u, _ := s.UndoRedoNames(); u != "Renumber 5 to 200" {
		t.Errorf("undo step %q", u)
	}
	s.Undo()
	if !slices.Equal(labelsOf(s), before) {
		t.Error("undo did not restore the old value")
	}
	if s.SegmentOf(5).Name != "liver" {
		t.Errorf("after undo value 5 is named %q", s.SegmentOf(5).Name)
	}
	checkCounts(t, s, "after renumber and undo")
}

func TestDeleteSegment(t *testing.T) {
	s := newTestSession(t, Options{})
	s.Paint("setup", []int{1, 2, 3}, 5)
	s.AddSegment("lesion")
	before := labelsOf(s)
	if n, err := s.DeleteSegment(5); err != nil || n != 3 {
		t.Fatalf("DeleteSegment = %d, %v", n, err)
	}
	if n, err := s.DeleteSegment(118); err != nil || n != 0 {
		t.Fatalf("DeleteSegment of an empty segment = %d, %v", n, err)
	}
	if got := s.Segments(); len(got) != 0 {
		t.Errorf("segments %v after deleting both", values(got))
	}
	if u, _ := s.UndoRedoNames(); u != "Delete liver" {
		t.Errorf("undo step %q", u)
	}
	s.Undo()
	if !slices.Equal(labelsOf(s), before) {
		t.Error("undo did not bring the voxels back")
	}
	if got := values(s.Segments()); !slices.Equal(got, []uint16{5}) {
		t.Errorf("segments %v after undo", got)
	}
}

func TestOpeningAScanResetsTheList(t *testing.T) {
	s := newTestSession(t, Options{})
	s.AddSegment("lesion")
	s.SetLocked(5, true)
	s.SetOverwriteOthers(true)
	if err := s.SetVolume(testVolume(1), ""); err != nil {
		t.Fatal(err)
	}
	if got := s.Segments(); len(got) != 0 {
		t.Errorf("segments %v listed for a new scan", values(got))
	}
	if s.SegmentOf(5).Locked {
		t.Error("a lock survived opening another scan")
	}
}
