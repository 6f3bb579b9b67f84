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
	writes, unavailable, cut atomic.Int64
}

func (f *flakyProxy) start(t *testing.T, target string, delay time.Duration) string {
	u, err := url.Parse(target)
	require.NoError(t, err)
	u.User = nil
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay) // the latency of a remote API
		if r.Method == http.MethodGet {
			proxy.ServeHTTP(w, r)
			return
		}
		n := f.writes.Add(1)
		switch {
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
