package main

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// result is one measurement of one side, as a child prints it.
type result struct {
	N             int            `json:"n"`
	ImportSeconds float64        `json:"import_seconds"`
	DiffSeconds   float64        `json:"diff_seconds"`
	TotalSeconds  float64        `json:"total_seconds"`
	PeakRSSBytes  int64          `json:"peak_rss_bytes"`
	HeapAlloc     uint64         `json:"heap_alloc_bytes"`
	Mallocs       uint64         `json:"mallocs"`
	LiveBytes     uint64         `json:"live_bytes"`
	Actions       map[string]int `json:"actions"`
}

// A side imports both trees of the scenario from dir and diffs them. Its
// import function returns the diff to run next; the diff returns the number
// of actions per name.
type side func(dir string) (diff func() (map[string]int, error), err error)

var sides = map[string]side{
	"dss":   importDSS,
	"floor": importFloor,
}

// measure runs one side on the files in dir and times its import and diff.
// Allocations are the runtime's counters before and after; the peak RSS is
// the process's (getrusage), meaningful only when the process does nothing
// else, which is why the benchmark runs each measurement in a child.
func measure(name, dir string, n int) (*result, error) {
	run, ok := sides[name]
	if !ok {
		return nil, fmt.Errorf("unknown measurement %q: dss or floor", name)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	diff, err := run(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: import: %w", name, err)
	}
	t1 := time.Now()
	actions, err := diff()
	if err != nil {
		return nil, fmt.Errorf("%s: diff: %w", name, err)
	}
	t2 := time.Now()
	runtime.ReadMemStats(&after)
	// What is still alive at the end, the trees above all, once the
	// garbage is collected: measured after the clock and the peak.
	var live runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&live)
	runtime.KeepAlive(diff) // the trees stay alive until the end, as in a sync program
	r := &result{
		N:             n,
		ImportSeconds: t1.Sub(t0).Seconds(),
		DiffSeconds:   t2.Sub(t1).Seconds(),
		TotalSeconds:  t2.Sub(t0).Seconds(),
		HeapAlloc:     after.TotalAlloc - before.TotalAlloc,
		Mallocs:       after.Mallocs - before.Mallocs,
		Actions:       fill(actions),
	}
	if live.HeapAlloc > before.HeapAlloc {
		r.LiveBytes = live.HeapAlloc - before.HeapAlloc
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		r.PeakRSSBytes = int64(ru.Maxrss) * 1024 // KiB on Linux
	}
	return r, nil
}
