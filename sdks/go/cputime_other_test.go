//go:build !unix

package pulsekit_test

import "time"

// processCPUTime is not measured on this platform; the benchmarks then report 0.
func processCPUTime() time.Duration { return 0 }
