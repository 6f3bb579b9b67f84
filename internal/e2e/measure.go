package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A program is one of the two measured programs, run as a process of its
// own: usersync's binary, or this one with baselineFlag.
type program struct {
	name   string
	path   string
	args   []string // before -csv and the target's flags
	pgArgs []string // and these too, on PostgreSQL
}

// A result is one measured run of a program.
type result struct {
	Seconds  float64 `json:"seconds"`
	RSSBytes int64   `json:"rss_bytes"` // the process's peak resident set size
}

var (
	// errRefused is a usersync run that its deletion guards refused.
	errRefused = errors.New("refused by usersync's guards")
	// errLocked is a usersync run that found another usersync's lock taken.
	errLocked = errors.New("usersync's lock is taken")
)

// measureFlag, as the first argument, makes this program run the command
// that follows and print its result as JSON.
//
// The benchmark measures each program through such a process, small and
// fresh, rather than starting it itself: on Linux, a process's peak RSS
// starts from that of the process that started it, which Go starts
// children from with vfork, sharing its memory until exec; and the
// benchmark's own memory grows with N, as it compares the tables.
const measureFlag = "-measure"

// measure runs the command in args, its standard output discarded, and
// prints its wall time from start to exit and its peak RSS (rusage).
func measure(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(measureFlag + ": no command")
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stderr = stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(args[0]), err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("no rusage for the child process on this system")
	}
	return json.NewEncoder(stdout).Encode(result{Seconds: elapsed.Seconds(), RSSBytes: ru.Maxrss * 1024}) // KiB on Linux
}

// run runs the program on the export at csvPath and the target, through
// self with measureFlag. Its standard output (usersync prints the whole
// plan) is discarded.
func (p program) run(ctx context.Context, self, csvPath string, t *target) (result, error) {
	args := append([]string{measureFlag, p.path}, p.args...)
	args = append(args, "-csv", csvPath)
	if t.kind == "postgres" {
		args = append(args, p.pgArgs...)
	}
	cmd := exec.CommandContext(ctx, self, append(args, t.flags()...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if p.name == "usersync" {
			switch {
			case strings.Contains(msg, "refused by the branch's guard"):
				return result{}, fmt.Errorf("%w: %s", errRefused, msg)
			case strings.Contains(msg, "is another run holding it?"):
				return result{}, fmt.Errorf("%w: %s", errLocked, msg)
			}
		}
		return result{}, fmt.Errorf("%s on %s: %w: %s", p.name, t, err, msg)
	}
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return result{}, fmt.Errorf("%s on %s: reading the measurement %q: %w", p.name, t, stdout.String(), err)
	}
	return r, nil
}

// median of the results, of each figure apart.
func median(results []result) result {
	secs := make([]float64, len(results))
	rss := make([]int64, len(results))
	for i, r := range results {
		secs[i], rss[i] = r.Seconds, r.RSSBytes
	}
	slices.Sort(secs)
	slices.Sort(rss)
	m := len(results) / 2
	if len(results)%2 == 1 {
		return result{Seconds: secs[m], RSSBytes: rss[m]}
	}
	return result{Seconds: (secs[m-1] + secs[m]) / 2, RSSBytes: (rss[m-1] + rss[m]) / 2}
}

// machine describes where the benchmark runs.
func machine(ctx context.Context, admin, mysqlAdmin *sql.DB) string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				cpu = strings.TrimSpace(value)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kib); err == nil {
			mem = fmt.Sprintf(", %.1f GiB", float64(kib)/(1<<20))
		}
	}
	s := fmt.Sprintf("%s, %d cores%s; %s %s/%s", cpu, runtime.NumCPU(), mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if db, err := sql.Open("sqlite", ":memory:"); err == nil {
		var v string
		if db.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&v) == nil {
			s += "; SQLite " + v + " (modernc.org/sqlite)"
		}
		db.Close()
	}
	if admin != nil {
		var v string
		if admin.QueryRowContext(ctx, `SHOW server_version`).Scan(&v) == nil {
			s += "; PostgreSQL " + v
		}
	}
	if mysqlAdmin != nil {
		var v string
		if mysqlAdmin.QueryRowContext(ctx, `SELECT version()`).Scan(&v) == nil {
			s += "; MySQL " + v
		}
	}
	return s
}
