package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// benchSpec is what -bench syncs: the sizes issue 18 asks for.
var benchSpec = genSpec{users: 2000, vhosts: 200, perms: 2000}

// runBench measures syncs into the broker at -url, at 1 and 8 workers:
// the initial sync of benchSpec into a broker that has none of it, and a
// sync of a 1% change (tags of 1% of the users, descriptions of 1% of the
// vhosts, read patterns of 1% of the permissions). Each time is a whole run
// (import both sides, plan, apply), the median of runs. Its users and vhosts
// carry a tag of their own, and it deletes them before each run and at the
// end; it touches nothing else. -rate applies.
func runBench(ctx context.Context, o options, runs int, stdout io.Writer) error {
	if runs < 1 {
		return errors.New("-bench-runs: want at least 1")
	}
	id := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	spec := benchSpec
	spec.prefix = "rsbench-" + id + "-"
	o.managed = "rabbitsync-bench-" + id
	o.verbose = false
	initial := generate(spec)
	changed := changeDirectory(generate(spec), 100)

	c, err := newClient(o.url, 8)
	if err != nil {
		return err
	}
	wipe := func() error { return deletePrefixed(context.WithoutCancel(ctx), c, spec.prefix) }
	defer wipe()
	fmt.Fprintf(stdout, "RabbitMQ at %s: %d users, %d vhosts, %d permissions; median of %d runs\n\n",
		redactedURLString(o.url), spec.users, spec.vhosts, spec.perms, runs)
	type result struct {
		first, change   []time.Duration
		nFirst, nChange int
	}
	results := map[int]*result{1: {}, 8: {}}
	// The runs alternate the order of the two worker counts, so that both
	// see the same machine: here, a broker on cores other programs share.
	for run := range runs {
		order := []int{1, 8}
		if run%2 == 1 {
			order = []int{8, 1}
		}
		for _, workers := range order {
			res := results[workers]
			if err := wipe(); err != nil {
				return fmt.Errorf("clean up before a run: %w", err)
			}
			for _, step := range []struct {
				d     *Directory
				times *[]time.Duration
				n     *int
			}{{initial, &res.first, &res.nFirst}, {changed, &res.change, &res.nChange}} {
				r := o
				r.directory, r.workers = step.d, workers
				start := time.Now()
				code, report, err := syncBroker(ctx, r, io.Discard)
				took := time.Since(start)
				if err != nil || code != exitOK {
					return fmt.Errorf("sync at %d workers: %v", workers, err)
				}
				*step.times = append(*step.times, took)
				if report != nil {
					*step.n = report.Applied
				}
			}
			fmt.Fprintf(stdout, "run %d, %d workers: initial %.2f s, 1%% change %.2f s\n",
				run+1, workers, res.first[run].Seconds(), res.change[run].Seconds())
			// The change converged: a last run has nothing to do.
			r := o
			r.directory, r.workers, r.dryRun, r.detailed = changed, workers, true, true
			if code, _, err := syncBroker(ctx, r, io.Discard); err != nil || code != exitOK {
				return fmt.Errorf("at %d workers the sync did not converge (exit %d): %v", workers, code, err)
			}
		}
	}
	fmt.Fprintf(stdout, "\n%-8s %-10s %8s %10s %12s %10s\n", "workers", "sync", "actions", "seconds", "actions/s", "speedup")
	for _, workers := range []int{1, 8} {
		res := results[workers]
		for _, row := range []struct {
			name  string
			n     int
			times []time.Duration
			one   []time.Duration
		}{{"initial", res.nFirst, res.first, results[1].first}, {"1% change", res.nChange, res.change, results[1].change}} {
			m := median(row.times)
			fmt.Fprintf(stdout, "%-8d %-10s %8d %10.2f %12.0f %9.1fx\n", workers, row.name, row.n, m.Seconds(),
				float64(row.n)/m.Seconds(), median(row.one).Seconds()/m.Seconds())
		}
	}
	return nil
}

// changeDirectory changes one in every `every` users' tags, vhosts'
// descriptions and permissions' read patterns, and returns d.
func changeDirectory(d *Directory, every int) *Directory {
	for i := 0; i < len(d.Users); i += every {
		d.Users[i].Tags = append(slices.Clone(d.Users[i].Tags), "changed")
	}
	for i := 0; i < len(d.Vhosts); i += every {
		d.Vhosts[i].Description += " (changed)"
	}
	for i := 0; i < len(d.Permissions); i += every {
		d.Permissions[i].Read = "^changed$"
	}
	return d
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// deletePrefixed deletes every user and vhost whose name begins with
// prefix, and so their permissions, directly through the API: how the
// benchmark and the tests clean up after themselves.
func deletePrefixed(ctx context.Context, c *client, prefix string) error {
	if !strings.HasPrefix(prefix, "rsbench-") && !strings.HasPrefix(prefix, "rstest-") {
		return fmt.Errorf("refusing to delete names with prefix %q", prefix)
	}
	for _, kind := range []string{"users", "vhosts"} {
		var objs []struct{ Name string }
		if err := c.do(ctx, http.MethodGet, "/api/"+kind, nil, &objs, ""); err != nil {
			return err
		}
		paths := make(chan string)
		errs := make(chan error, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for p := range paths {
					err := c.do(ctx, http.MethodDelete, p, nil, nil, "")
					if ae := (*apiError)(nil); err != nil && !(errors.As(err, &ae) && ae.status == http.StatusNotFound) {
						select {
						case errs <- err:
						default:
						}
					}
				}
			})
		}
		for _, o := range objs {
			if strings.HasPrefix(o.Name, prefix) {
				paths <- "/api/" + kind + "/" + url.PathEscape(o.Name)
			}
		}
		close(paths)
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
		}
	}
	return nil
}

// redactedURLString is raw with its password replaced, or a placeholder
// when it does not parse.
func redactedURLString(raw string) string {
	c, err := newClient(raw, 1)
	if err != nil {
		return "(the -url)"
	}
	return c.where()
}
