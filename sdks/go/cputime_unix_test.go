//go:build unix

package pulsekit_test

import (
	"syscall"
	"time"
)

// processCPUTime is the CPU time (user + system) this process used so far, in all its threads.
func processCPUTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
