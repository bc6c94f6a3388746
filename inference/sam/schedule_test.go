package sam

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/polyseg/polyseg/internal/bareort"
	"github.com/polyseg/polyseg/models"
)

// freshSAM loads the bundled Model with an empty embedding cache of its own,
// so that the test sees every encode.
func freshSAM(t *testing.T) *Model {
	t.Helper()
	testSAM(t) // skips without the weights
	s, err := LoadDefault(testRuntime(t), Options{DiskCache: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Callers asking for the same slice at once share one encode.
func TestEmbedSharesOneEncode(t *testing.T) {
	s := freshSAM(t)
	img, rows, cols := bareort.TestImage(0)
	w := models.Window{Level: 40, Width: 400}
	var wg sync.WaitGroup
	embs := make([]*Embedding, 3)
	for i := range embs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := s.Embed(context.Background(), img, rows, cols, w)
			if err != nil {
				t.Error(err)
			}
			embs[i] = e
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Encoded != 1 || st.Hits != 2 {
		t.Errorf("three concurrent calls: %d encodes, %d hits; want 1 and 2", st.Encoded, st.Hits)
	}
	for _, e := range embs[1:] {
		if e == nil || embs[0] == nil || e.Key != embs[0].Key {
			t.Fatal("the callers got different embeddings")
		}
	}
	if !cached(s, img, rows, cols, w) {
		t.Error("the slice is not reported cached after its encode")
	}
	if _, err := s.Embed(context.Background(), img, rows, cols, w); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Encoded != 1 {
		t.Errorf("asking again encoded again (%d encodes)", st.Encoded)
	}
}

// A background encode gives way to a foreground one and finishes later.
func TestEmbedBackgroundGivesWay(t *testing.T) {
	s := freshSAM(t)
	w := models.Window{Level: 40, Width: 400}
	bgImg, rows, cols := bareort.TestImage(1)
	fgImg, _, _ := bareort.TestImage(2)
	bgDone := make(chan error, 1)
	go func() {
		_, err := s.EmbedBackground(context.Background(), bgImg, rows, cols, w)
		bgDone <- err
	}()
	// Wait until the background encode runs.
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.sched.mu.Lock()
		running := len(s.sched.bg) > 0
		s.sched.mu.Unlock()
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background encode never started")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := s.Embed(context.Background(), fgImg, rows, cols, w); err != nil {
		t.Fatal(err)
	}
	if err := <-bgDone; err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Preempted < 1 || st.Encoded != 2 {
		t.Errorf("stats %+v: want the background encode preempted once and both slices encoded", st)
	}
	if !cached(s, bgImg, rows, cols, w) || !cached(s, fgImg, rows, cols, w) {
		t.Error("a slice is missing from the cache")
	}

	// Cancelled while waiting, the background call returns at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	img3, _, _ := bareort.TestImage(3)
	if _, err := s.EmbedBackground(ctx, img3, rows, cols, w); err == nil {
		t.Error("a cancelled background encode returned no error")
	}
}

// cached reports whether the embedding of img is in s's cache.
func cached(s *Model, img []float32, rows, cols int, w models.Window) bool {
	return s.cache.Has(s.embeddingKey(img, rows, cols, w))
}
