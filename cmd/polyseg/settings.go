package main

import (
	"context"
	"os"
	"time"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/internal/settings"
)

// loadSAM loads SAM as the user's settings say (the embedding cache's
// folder and bounds, the encoder variant): every command that runs SAM
// shares the app's embedding cache.
func loadSAM(rt *onnxrt.Runtime) (*sam.Model, error) {
	st, err := settings.Load()
	if err != nil {
		return nil, err
	}
	return sam.LoadDefault(rt, app.SAMOptions(st))
}

// limitGoHeap bounds the Go heap near what is live (app.BoundGoHeap)
// until ctx ends, unless GOMEMLIMIT (which the Go runtime reads itself)
// says otherwise.
func limitGoHeap(ctx context.Context) {
	if os.Getenv("GOMEMLIMIT") == "" {
		go app.BoundGoHeap(ctx, app.GoHeapLimit, time.Second)
	}
}
