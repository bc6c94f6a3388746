package main

// tuning is the account of how the engine's defaults were chosen; it is
// part of docs/propagation.md.
const tuning = `
(written after the sweeps)
`
