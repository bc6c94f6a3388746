package app

import (
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/polyseg/polyseg/stats"
)

func TestStatisticsAndVolumes(t *testing.T) {
	scans, labels := smallPhantoms(t)
	s := New(Options{AutosaveDir: t.TempDir()})
	t.Cleanup(s.Close)
	if _, err := s.Statistics(context.Background()); !errors.Is(err, ErrNoVolume) {
		t.Errorf("statistics without a scan: %v", err)
	}
	if err := s.setVolume(scans[0], labels[0], "phantom"); err != nil {
		t.Fatal(err)
	}
	want, err := stats.Compute(context.Background(), scans[0], labels[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	table, err := s.Statistics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Segments) != len(want) || len(table.Rows) != len(want) {
		t.Fatalf("%d segments, %d rows; want %d", len(table.Segments), len(table.Rows), len(want))
	}
	// The segment list's volume agrees with the statistics', to the last
	// digit, and is the voxel count times 6.25 × 6.25 × 3 mm³.
	for n, w := range want {
		seg := s.SegmentOf(w.Label)
		if seg.VolumeML != w.VolumeML || table.Segments[n].VolumeML != w.VolumeML {
			t.Errorf("label %d: list %g mL, statistics %g mL, stats.Compute %g mL", w.Label, seg.VolumeML, table.Segments[n].VolumeML, w.VolumeML)
		}
		if math.Abs(seg.VolumeML-float64(seg.Voxels)*6.25*6.25*3/1000) > 1e-9 {
			t.Errorf("label %d: %g mL for %d voxels", w.Label, seg.VolumeML, seg.Voxels)
		}
	}
	out := filepath.Join(t.TempDir(), "stats.csv")
	if err := table.WriteCSV(out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want)+1 || recs[0][3] != "volume_ml" {
		t.Fatalf("CSV: %d records, header %v", len(recs), recs[0])
	}
	for n, w := range want {
		r := recs[n+1]
		ml, _ := strconv.ParseFloat(r[3], 64)
		if r[0] != strconv.Itoa(int(w.Label)) || r[1] != s.SegmentOf(w.Label).Name || math.Abs(ml-w.VolumeML) > 1e-9*w.VolumeML {
			t.Errorf("CSV row %v, want label %d %s %g mL", r, w.Label, s.SegmentOf(w.Label).Name, w.VolumeML)
		}
	}
	if err := table.WriteCSV(filepath.Join(t.TempDir(), "missing", "stats.csv")); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}
