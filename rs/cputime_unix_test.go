//go:build unix

package rs

import (
	"syscall"
	"testing"
)

// cpuTime is the process's user + system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU starts measuring CPU time; the returned function reports it
// per operation as "cpu-ns/op". On a shared machine wall-clock ns/op also
// counts time spent waiting for a core; CPU time per op is the cost per
// core, and 1e9 / cpu-ns/op the throughput of one core.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
