// Command bench measures dss against plain Go on the users-groups scenario
// of issue 5: it generates the CSV files for N users, then imports, diffs
// and counts the actions both with dss and with the floor, the best plain Go
// program for the job (sorted slices and merge walks, baseline.go), each
// in a child process of its own so that peak memory is measured apart, and
// prints one JSON line comparing them.
//
//	go run ./internal/bench -n 100000 -dir /tmp/dssbench
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	n          int
	dir        string
	reuse      bool
	runs       int
	measure    string
	cpuprofile string
	memprofile string
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 100000, "number of source users")
	fs.StringVar(&o.dir, "dir", "", "directory of the generated CSV files (required)")
	fs.BoolVar(&o.reuse, "reuse", false, "reuse the files in -dir if they were generated for the same -n")
	fs.IntVar(&o.runs, "runs", 1, "run each measurement this many times and report the medians")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "after the measured runs, run dss once more and write its CPU profile here")
	fs.StringVar(&o.memprofile, "memprofile", "", "after the measured runs, run dss once more and write its allocation profile here")
	fs.StringVar(&o.measure, "measure", "", "(internal) measure dss or floor in this process and print the result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if o.measure != "" {
		return child(o)
	}
	if o.runs < 1 {
		return fmt.Errorf("-runs must be at least 1")
	}
	return parent(o)
}

// child measures one side in this process and prints its result, writing
// the profiles asked for.
func child(o options) error {
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	r, err := measure(o.measure, o.dir, o.n)
	if err != nil {
		return err
	}
	if o.memprofile != "" {
		runtime.GC() // the profile is as of the last GC: include every allocation
		f, err := os.Create(o.memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// summary is one side's figures over the runs: the medians, and each run.
type summary struct {
	result
	Runs []*result `json:"runs"`
}

type report struct {
	N         int      `json:"n"`
	Scenario  string   `json:"scenario"`
	Runs      int      `json:"runs"`
	DSS       *summary `json:"dss"`
	Floor     *summary `json:"floor"`
	RatioTime float64  `json:"ratio_time"` // dss / floor, median total seconds
	RatioRSS  float64  `json:"ratio_rss"`  // dss / floor, median peak RSS
}

func parent(o options) error {
	reused, err := generate(o.dir, o.n, o.reuse)
	if err != nil {
		return fmt.Errorf("generating %s: %w", o.dir, err)
	}
	if reused {
		fmt.Fprintf(os.Stderr, "bench: reusing the files in %s\n", o.dir)
	}
	want := expected(o.n)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var dssRuns, floorRuns []*result
	for range o.runs {
		f, err := spawn(exe, o, "floor")
		if err != nil {
			return err
		}
		d, err := spawn(exe, o, "dss")
		if err != nil {
			return err
		}
		if err := check(want, f, d); err != nil {
			return err
		}
		floorRuns, dssRuns = append(floorRuns, f), append(dssRuns, d)
	}
	if o.cpuprofile != "" || o.memprofile != "" {
		if _, err := spawn(exe, o, "dss", "-cpuprofile", o.cpuprofile, "-memprofile", o.memprofile); err != nil {
			return err
		}
	}
	rep := report{N: o.n, Scenario: scenario, Runs: o.runs, DSS: summarize(dssRuns), Floor: summarize(floorRuns)}
	rep.RatioTime = round(rep.DSS.TotalSeconds/rep.Floor.TotalSeconds, 3)
	rep.RatioRSS = round(float64(rep.DSS.PeakRSSBytes)/float64(rep.Floor.PeakRSSBytes), 3)
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// spawn runs this program again to measure one side in a process of its own.
func spawn(exe string, o options, side string, extra ...string) (*result, error) {
	args := []string{"-measure", side, "-n", strconv.Itoa(o.n), "-dir", o.dir}
	cmd := exec.Command(exe, append(args, extra...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("measuring %s: %w", side, err)
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("measuring %s: reading its result %q: %w", side, out.String(), err)
	}
	return &r, nil
}

// check compares both sides' action counts with each other and with the
// scenario's expectations.
func check(want map[string]int, floor, d *result) error {
	if !maps.Equal(floor.Actions, d.Actions) {
		return fmt.Errorf("dss and the floor disagree:\n%s", diffCounts("dss", d.Actions, "floor", floor.Actions))
	}
	if !maps.Equal(want, d.Actions) {
		return fmt.Errorf("dss and the floor agree, but not with the expected counts:\n%s", diffCounts("got", d.Actions, "want", want))
	}
	return nil
}

func diffCounts(an string, a map[string]int, bn string, b map[string]int) string {
	var buf bytes.Buffer
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		mark := " "
		if a[k] != b[k] {
			mark = "!"
		}
		fmt.Fprintf(&buf, "%s %-28s %s %8d  %s %8d\n", mark, k, an, a[k], bn, b[k])
	}
	return buf.String()
}

// summarize takes the median of each figure over the runs, separately.
func summarize(runs []*result) *summary {
	med := func(f func(*result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	s := &summary{Runs: runs}
	s.N = runs[0].N
	s.Actions = runs[0].Actions
	s.ImportSeconds = round(med(func(r *result) float64 { return r.ImportSeconds }), 4)
	s.DiffSeconds = round(med(func(r *result) float64 { return r.DiffSeconds }), 4)
	s.TotalSeconds = round(med(func(r *result) float64 { return r.TotalSeconds }), 4)
	s.PeakRSSBytes = int64(med(func(r *result) float64 { return float64(r.PeakRSSBytes) }))
	s.HeapAlloc = uint64(med(func(r *result) float64 { return float64(r.HeapAlloc) }))
	s.Mallocs = uint64(med(func(r *result) float64 { return float64(r.Mallocs) }))
	s.LiveBytes = uint64(med(func(r *result) float64 { return float64(r.LiveBytes) }))
	return s
}

func round(x float64, digits int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return v
}
