package dss

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

var (
	firstNames = []string{"Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Ken", "Leslie", "Margaret", "Niklaus", "Ole", "Radia", "Shafi", "Tony", "Whitfield"}
	lastNames  = []string{"Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Floyd", "Goldwasser", "Hamilton", "Hopper", "Kahn", "Knuth", "Lamport", "Liskov", "Lovelace", "McCarthy", "Perlman", "Ritchie", "Shannon", "Thompson", "Turing", "Wirth", "Yao", "Zuse"}
)

// benchRecords builds n source user records and their destination twins;
// changed out of every 100 destination users have another first name.
func benchRecords(n, changed int) (src, dst []Record) {
	depts := n/100 + 7
	for i := range n {
		id := strconv.Itoa(100000 + i)
		first, last := firstNames[i%17], lastNames[(i/17)%23]
		dept := "dept-" + strconv.Itoa(i%depts)
		src = append(src, Record{"idnumber": id, "_lastfirst": last + ", " + first, "email": id + "@example.edu", "department": dept})
		if i%100 < changed {
			first += "x"
		}
		dst = append(dst, Record{"idnumber": id, "_first": first, "_last": last, "email": id + "@example.edu", "department": dept})
	}
	return src, dst
}

func yieldAll(recs []Record) Importer {
	return ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		for _, r := range recs {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
}

func benchDatastore(b *testing.B, n, changed int) *Datastore[srcTree, dstTree] {
	srecs, drecs := benchRecords(n, changed)
	ds := New[srcTree, dstTree]()
	ds.Source.Branches.Users.Importer = yieldAll(srecs)
	ds.Source.Branches.Groups.Importer = deptGroups(ds.Source.Branches.Users)
	ds.Dest.Branches.Users.Importer = yieldAll(drecs)
	ds.Dest.Branches.Groups.Importer = deptGroups2(ds.Dest.Branches.Users)
	if err := ds.Import(context.Background()); err != nil {
		b.Fatal(err)
	}
	return ds
}

func benchTrees(b *testing.B, n, changed int) (*Tree[srcTree], *Tree[dstTree]) {
	ds := benchDatastore(b, n, changed)
	return ds.Source, ds.Dest
}

// BenchmarkDecode measures decoding 100,000 user records into a branch,
// Derive included.
func BenchmarkDecode(b *testing.B) { benchDecode(b, false) }

// BenchmarkDecodeUnique is BenchmarkDecode into a Unique branch, which keeps
// no map.
func BenchmarkDecodeUnique(b *testing.B) { benchDecode(b, true) }

func benchDecode(b *testing.B, unique bool) {
	srecs, _ := benchRecords(100_000, 0)
	type users struct{ Users *Branch[string, srcUser] }
	ut := NewTree[users]("source")
	ut.Branches.Users.Importer = yieldAll(srecs)
	ut.Branches.Users.Unique = unique
	b.ReportAllocs()
	for b.Loop() {
		if err := ut.Import(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/object")
}

// BenchmarkDecodeRows is BenchmarkDecodeUnique with the same records given
// as rows of a RowImporter: decoded by column position, without a Record.
func BenchmarkDecodeRows(b *testing.B) {
	srecs, _ := benchRecords(100_000, 0)
	keys := []string{"idnumber", "_lastfirst", "email", "department"}
	rows := make([][]string, len(srecs))
	for i, r := range srecs {
		for _, k := range keys {
			rows[i] = append(rows[i], r[k].(string))
		}
	}
	type users struct{ Users *Branch[string, srcUser] }
	ut := NewTree[users]("source")
	ut.Branches.Users.Importer = RowsFunc(keys, func(ctx context.Context, yield func([]string) error) error {
		for _, r := range rows {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
	ut.Branches.Users.Unique = true
	b.ReportAllocs()
	for b.Loop() {
		if err := ut.Import(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/object")
}

// deptGroups2 derives the destination's groups as the source's are, so that
// only the users differ.
func deptGroups2(users *Branch[string, dstUser]) Importer {
	return ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		for id, u := range users.All() {
			if err := yield(Record{"idnumber": u.Department, "members": id}); err != nil {
				return err
			}
		}
		return nil
	})
}

// benchDiff diffs 100,000 users and their groups, changed% of the users
// renamed: allocations grow with the changes, not with the users.
func benchDiff(b *testing.B, changed int) {
	src, dst := benchTrees(b, 100_000, changed)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = 0
		for range src.Diff(dst) {
			n++
		}
	}
	b.ReportMetric(float64(n), "actions")
}

func BenchmarkDiff0(b *testing.B)  { benchDiff(b, 0) }
func BenchmarkDiff1(b *testing.B)  { benchDiff(b, 1) }
func BenchmarkDiff50(b *testing.B) { benchDiff(b, 50) }

// BenchmarkPlan makes the plan of 100,000 users, 1% renamed: Diff, the
// summary and the guards' verdict.
func BenchmarkPlan(b *testing.B) {
	ds := benchDatastore(b, 100_000, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ds.Plan(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrint writes the plan of 100,000 users, 1% renamed.
func BenchmarkPrint(b *testing.B) {
	p, err := benchDatastore(b, 100_000, 1).Plan()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Print(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

type noopTemplate struct{}

func (noopTemplate) UpdateName(ctx context.Context, a Action) error { return nil }

// BenchmarkApply applies the plan of 100,000 users, 1% renamed, through a
// template that does nothing: the cost of dss's own dispatch.
func BenchmarkApply(b *testing.B) {
	ds := benchDatastore(b, 100_000, 1)
	p, err := ds.Plan()
	if err != nil {
		b.Fatal(err)
	}
	tmpl := Methods(noopTemplate{})
	b.ReportAllocs()
	for b.Loop() {
		p.spent, ds.Dest.t.state = false, stateReady // the same plan, as if new
		r, err := ds.Apply(context.Background(), p, tmpl)
		if err != nil || r.Applied != 1000 {
			b.Fatal(r, err)
		}
	}
}

// apiServer is an HTTP API of fixed latency: each request sleeps latency,
// then answers 204; with failEvery, every failEvery-th request answers 503
// with Retry-After: 1 instead. It counts what it did.
type apiServer struct {
	latency   time.Duration
	failEvery int64

	n, failed   atomic.Int64
	mu          sync.Mutex
	done        map[string]int // "METHOD path" -> requests answered 204
	first, last time.Time      // the first and last request answered 204
}

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(s.latency)
	if n := s.n.Add(1); s.failEvery > 0 && n%s.failEvery == 0 {
		s.failed.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	now := time.Now()
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.done[r.Method+" "+r.URL.Path]++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *apiServer) reset() {
	s.n.Store(0)
	s.failed.Store(0)
	s.done, s.first, s.last = map[string]int{}, time.Time{}, time.Time{}
}

// apiTemplate applies users to an apiServer, one request per action, as a
// program's template for an HTTP API would: 429 and 503 are temporary,
// with the server's Retry-After.
type apiTemplate struct {
	client *http.Client
	base   string
}

func (t *apiTemplate) Concurrent() bool { return true }

func (t *apiTemplate) do(ctx context.Context, method, path string) error {
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	err = fmt.Errorf("%s %s: %s", method, path, resp.Status)
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if s, aerr := strconv.Atoi(resp.Header.Get("Retry-After")); aerr == nil {
			return RetryAfter(err, time.Duration(s)*time.Second)
		}
		return Temporary(err)
	}
	return err
}

func (t *apiTemplate) NewUsers(ctx context.Context, a Action) error {
	return t.do(ctx, http.MethodPut, "/users/"+a.ID)
}
func (t *apiTemplate) UpdateName(ctx context.Context, a Action) error {
	return t.do(ctx, http.MethodPut, "/users/"+a.ID+"/name")
}
func (t *apiTemplate) UpdateEmail(ctx context.Context, a Action) error {
	return t.do(ctx, http.MethodPut, "/users/"+a.ID+"/email")
}
func (t *apiTemplate) OldUsers(ctx context.Context, a Action) error {
	return t.do(ctx, http.MethodDelete, "/users/"+a.ID)
}

// apiPlan is a datastore whose plan has 10,000 actions: 3,000 users to
// create, 2,000 whose name and email change (update_name and update_email
// alternating), 3,000 to delete.
func apiPlan(b *testing.B) (*Datastore[srcTree, dstTree], *Plan) {
	var src, dst []Record
	for i := range 5000 {
		id := strconv.Itoa(100000 + i)
		src = append(src, Record{"idnumber": id, "name": "New " + id, "email": id + "@new.example"})
	}
	for i := 3000; i < 8000; i++ {
		id := strconv.Itoa(100000 + i)
		dst = append(dst, Record{"idnumber": id, "name": "Old " + id, "email": id + "@old.example"})
	}
	ds := New[srcTree, dstTree]()
	ds.Source.Branches.Users.Importer = yieldAll(src)
	ds.Source.Branches.Groups.Importer = Records()
	ds.Dest.Branches.Users.Importer = yieldAll(dst)
	ds.Dest.Branches.Groups.Importer = Records()
	ds.Dest.Branches.Users.Guard = Guard{MaxDeletes: -1, MaxDeleteFraction: 1}
	if err := ds.Import(context.Background()); err != nil {
		b.Fatal(err)
	}
	p, err := ds.Plan()
	if err == nil {
		err = p.Refusal()
	}
	if err != nil || len(p.Actions) != 10_000 {
		b.Fatal(len(p.Actions), err)
	}
	return ds, p
}

// BenchmarkApplyHTTP applies 10,000 actions to an HTTP API whose every
// request takes 20 ms: one call at a time, on 16 workers, on 16 workers
// with every tenth request answered 503 (Retry-After: 1), and on 16
// workers under a rate limit of 200 requests a second. baseline-16 is the
// plain program: 16 goroutines per phase (creates, updates, deletes) over
// the same requests, without retries or per-object order. Each run checks
// that every action was applied exactly once and the report is exact.
//
//	go test -run '^$' -bench ApplyHTTP -benchtime 1x .
//
// It takes about six minutes, so it runs only when -bench names it.
func BenchmarkApplyHTTP(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "ApplyHTTP") {
		b.Skip("about six minutes: run it by name, -bench ApplyHTTP")
	}
	for _, bc := range []struct {
		name      string
		workers   int
		failEvery int64
		rate      rate.Limit
	}{
		{"sequential", 1, 0, 0},
		{"workers=16", 16, 0, 0},
		{"baseline-16", 16, 0, 0},
		{"workers=16,503=10%", 16, 10, 0},
		{"workers=16,rate=200", 16, 0, 200},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ds, p := apiPlan(b)
			srv := &apiServer{latency: 20 * time.Millisecond, failEvery: bc.failEvery}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			tmpl := &apiTemplate{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, base: hs.URL}
			opts := []ApplyOption{Workers(bc.workers), Retry(RetryPolicy{Attempts: 10})}
			if bc.rate > 0 {
				opts = append(opts, RateLimit(rate.NewLimiter(bc.rate, 1)))
			}
			runs := 0
			for b.Loop() {
				runs++
				srv.reset()
				p.spent, ds.Dest.t.state = false, stateReady // the same plan, as if new
				var r *Report
				var err error
				if bc.name == "baseline-16" {
					err = baselineHTTP(tmpl, p.Actions, bc.workers)
				} else if r, err = ds.Apply(context.Background(), p, Methods(tmpl), opts...); err == nil &&
					(r.Applied != len(p.Actions) || len(r.Failed) != 0 || int64(r.Retries) != srv.failed.Load()) {
					err = fmt.Errorf("inexact report: %v, the server answered 503 %d times", r, srv.failed.Load())
				}
				if err != nil {
					b.Fatal(err)
				}
				if len(srv.done) != len(p.Actions) {
					b.Fatalf("%d distinct requests answered, want %d", len(srv.done), len(p.Actions))
				}
				for k, n := range srv.done {
					if n != 1 {
						b.Fatalf("%s answered %d times", k, n)
					}
				}
			}
			b.ReportMetric(float64(len(p.Actions)*runs)/b.Elapsed().Seconds(), "actions/s")
			b.ReportMetric(float64(srv.failed.Load()), "503s")
			b.ReportMetric(float64(len(srv.done)-1)/srv.last.Sub(srv.first).Seconds(), "req/s")
		})
	}
}

// baselineHTTP is what a competent engineer writes without dss: per phase
// (creates, updates, deletes), workers goroutines take the requests from a
// channel.
func baselineHTTP(t *apiTemplate, actions []Action, workers int) error {
	ctx := context.Background()
	for _, k := range []Kind{KindNew, KindUpdate, KindOld} {
		work := make(chan Action)
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for a := range work {
					var err error
					switch a.Name {
					case "new_users":
						err = t.NewUsers(ctx, a)
					case "update_name":
						err = t.UpdateName(ctx, a)
					case "update_email":
						err = t.UpdateEmail(ctx, a)
					case "old_users":
						err = t.OldUsers(ctx, a)
					}
					if err != nil {
						select {
						case errs <- err:
						default:
						}
					}
				}
			})
		}
		for _, a := range actions {
			if a.Kind == k {
				work <- a
			}
		}
		close(work)
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
		}
	}
	return nil
}
