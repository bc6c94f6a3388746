//go:build !unix

package render3d

import "time"

func cpuTime() time.Duration { return 0 }
