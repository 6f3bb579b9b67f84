package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// flakyProxy is a reverse proxy in front of the broker that delays every
// request by delay and makes writes fail: every 5th PUT or DELETE is
// answered 503 (every third of those with Retry-After: 1), and every 13th
// is sent on to the broker and then its connection is cut before the answer
// (the request happened; the client cannot know).
type flakyProxy struct {
	healthy                  bool   // pass every request on, and only count the writes
	failGet                  string // a path whose GET is answered 503
	writes, unavailable, cut atomic.Int64
	firstWrite, lastWrite    atomic.Int64 // when the first and the last write arrived, in Unix nanoseconds
}

func (f *flakyProxy) start(t *testing.T, target string, delay time.Duration) string {
	u, err := url.Parse(target)
	require.NoError(t, err)
	u.User = nil
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay) // the latency of a remote API, when asked for
		if r.Method == http.MethodGet {
			if r.URL.Path == f.failGet {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			proxy.ServeHTTP(w, r)
			return
		}
		n := f.writes.Add(1)
		now := time.Now().UnixNano()
		f.firstWrite.CompareAndSwap(0, now)
		f.lastWrite.Store(now)
		switch {
		case f.healthy:
			proxy.ServeHTTP(w, r)
		case n%5 == 0:
			if f.unavailable.Add(1)%3 == 0 {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"unavailable","reason":"try later"}`)
		case n%13 == 0:
			f.cut.Add(1)
			proxy.ServeHTTP(httptest.NewRecorder(), r) // the broker does it
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close() // and the answer is lost
			}
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	creds := target[:strings.Index(target, "@")+1]
	return strings.Replace(srv.URL, "http://", creds, 1)
}

// TestFlakyProxyConverges: through a proxy that delays every request and
// answers some writes 503 (with and without Retry-After) or cuts their
// connection after the broker did them, a sync at 4 workers still applies
// every action, counting the retries, and the next run, straight to the
// broker, has nothing to do.
func TestFlakyProxyConverges(t *testing.T) {
	tb := newTestBroker(t)
	var f flakyProxy
	proxied := f.start(t, tb.url, 2*time.Millisecond)
	d := generate(genSpec{users: 40, vhosts: 4, perms: 40, prefix: tb.prefix})
	o := options{url: proxied, managed: tb.tag, workers: 4, directory: d}
	code, report, err := syncBroker(context.Background(), o, io.Discard)
	require.NoError(t, err)
	require.Equal(t, exitOK, code)
	t.Logf("%d writes, %d answered 503, %d cut; %s", f.writes.Load(), f.unavailable.Load(), f.cut.Load(), report)
	require.Equal(t, 84, report.Applied)
	require.Empty(t, report.Failed)
	require.Positive(t, f.unavailable.Load())
	require.Positive(t, f.cut.Load())
	require.Equal(t, f.unavailable.Load()+f.cut.Load(), int64(report.Retries), "one retry per 503 and per cut connection")

	o.url, o.dryRun, o.detailed = tb.url, true, true
	var out strings.Builder
	code, _, err = syncBroker(context.Background(), o, &out)
	require.NoError(t, err)
	require.Equal(t, exitOK, code)
	require.Contains(t, out.String(), "nothing to do")
}

// TestRateFlag: with -rate 50 the writes of a sync are spaced at least
// 20 ms apart: the 40 of this one take at least 0.78 s, however fast the
// broker (a lower bound only, which a slow machine cannot break; without
// the limit they take about 0.1 s here).
func TestRateFlag(t *testing.T) {
	tb := newTestBroker(t)
	var f flakyProxy
	f.healthy = true
	proxied := f.start(t, tb.url, 0)
	d := generate(genSpec{users: 20, vhosts: 1, perms: 19, prefix: tb.prefix})
	o := options{url: proxied, managed: tb.tag, workers: 8, rate: 50, directory: d}
	code, report, err := syncBroker(context.Background(), o, io.Discard)
	require.NoError(t, err)
	require.Equal(t, exitOK, code)
	require.Equal(t, 40, report.Applied)
	require.Equal(t, int64(40), f.writes.Load())
	first, last := f.firstWrite.Load(), f.lastWrite.Load()
	require.GreaterOrEqual(t, time.Duration(last-first), 780*time.Millisecond)
}

// TestBadFlags: a worker count below 1 or a negative rate is refused
// before any request.
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct{ args, want []string }{
		{[]string{"-concurrency", "0"}, []string{"-concurrency 0: want at least 1"}},
		{[]string{"-rate", "-1"}, []string{"-rate -1: want 0 (no limit) or more"}},
	} {
		code, _, errOut := runArgs(t, append(tc.args, "-url", "http://guest:guest@127.0.0.1:1")...)
		require.Equal(t, exitError, code)
		require.Contains(t, errOut, tc.want[0])
	}
}

// TestImportFailureAppliesNothing: when a GET of the import fails (503 on
// /api/permissions), the run exits 1 naming the branch and the request,
// and sends no write.
func TestImportFailureAppliesNothing(t *testing.T) {
	tb := newTestBroker(t)
	f := flakyProxy{failGet: "/api/permissions"}
	proxied := f.start(t, tb.url, 0)
	d := generate(genSpec{users: 5, vhosts: 1, perms: 5, prefix: tb.prefix})
	code, out, errOut := runArgs(t, "-url", proxied, "-managed-tag", tb.tag, "-dir", dirFile(t, d))
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, "rabbitsync: dss: dest.permissions: GET /api/permissions: 503 Service Unavailable")
	require.NotContains(t, errOut, "guest:guest")
	require.Empty(t, out)
	require.Zero(t, f.writes.Load())
}
