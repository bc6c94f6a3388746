// Package realdata loads the real CT fixtures (shared/data/real, see its
// README) for the tests of several packages, so that each does not repeat
// the same loading code.
//
// The fixtures are read in place, never copied into the repository; every
// function skips the calling test when they are absent, so a checkout
// without them still passes.
package realdata
