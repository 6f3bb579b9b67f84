package dss

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// newUsers is a datastore whose plan creates n users, 000 to n-1.
func newUsers(t *testing.T, n int) *Datastore[srcTree, dstTree] {
	t.Helper()
	var recs []Record
	for i := range n {
		recs = append(recs, Record{"idnumber": fmt.Sprintf("%03d", i)})
	}
	ds, _ := newDatastore(t, recs, nil, nil)
	return ds
}

// scripted is a Template safe for concurrent use whose calls take a
// latency on the fake clock of a synctest bubble and return, object by
// object, the errors of a script (nil once it is spent). It records when
// each object was called.
type scripted struct {
	latency   time.Duration
	slow      map[string]time.Duration // idnumber -> its latency, instead of latency
	script    map[string][]error
	panics    map[string]bool
	honourCtx bool // a call returns ctx.Err() as soon as ctx is done

	mu      sync.Mutex
	start   time.Time
	calls   map[string][]time.Duration // idnumber -> when it was called, since start
	started int
}

func newScripted(latency time.Duration) *scripted {
	return &scripted{latency: latency, script: map[string][]error{}, slow: map[string]time.Duration{},
		panics: map[string]bool{}, calls: map[string][]time.Duration{}, start: time.Now()}
}

func (s *scripted) Concurrent() bool { return true }

func (s *scripted) Apply(ctx context.Context, batch []Action) error {
	id := batch[0].ID
	s.mu.Lock()
	s.calls[id] = append(s.calls[id], time.Since(s.start))
	s.started++
	var err error
	if sc := s.script[id]; len(sc) > 0 {
		err, s.script[id] = sc[0], sc[1:]
	}
	d, ok := s.slow[id]
	if !ok {
		d = s.latency
	}
	s.mu.Unlock()
	if s.honourCtx {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		time.Sleep(d)
	}
	if s.panics[id] {
		panic("template bug on " + id)
	}
	return err
}

// TestApplyRetries: an action whose call returns a temporary error is
// called again after a backoff, at least as long as its Retry-After; it
// fails once the attempts or the time are spent; any other error fails it
// at once. The report counts the retries. With Workers, a wait to retry
// holds no worker; without, it holds the plan's order.
func TestApplyRetries(t *testing.T) {
	e503 := errors.New("503 Service Unavailable")
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ds := newUsers(t, 5)
				s := newScripted(10 * time.Millisecond)
				s.script["000"] = []error{RetryAfter(e503, 3*time.Second), RetryAfter(e503, 3*time.Second)}
				s.script["001"] = []error{Temporary(e503), Temporary(e503), Temporary(e503), Temporary(e503), Temporary(e503), Temporary(e503)}
				s.script["002"] = []error{e503} // not marked temporary: final
				s.script["003"] = []error{RetryAfter(e503, 2*time.Hour)}
				p := mustPlan(t, ds)
				start := time.Now()
				r, err := ds.Apply(context.Background(), p, s, Workers(workers), BatchSize(1))
				require.ErrorIs(t, err, e503)
				checkReport(t, r)
				require.Equal(t, 2, r.Applied) // 000 on its third call, and 004
				require.Equal(t, 2+4, r.Retries)
				require.Len(t, r.Failed, 3)
				require.Equal(t, "001", r.Failed[0].Action.ID)
				require.EqualError(t, r.Failed[0].Err, "after 5 calls: 503 Service Unavailable")
				require.Equal(t, "002", r.Failed[1].Action.ID)
				require.Equal(t, e503, r.Failed[1].Err) // never retried
				require.Equal(t, "003", r.Failed[2].Action.ID)
				require.EqualError(t, r.Failed[2].Err, "503 Service Unavailable") // Retry-After beyond MaxTime
				require.Contains(t, r.String(), "2 of 5 actions applied, 3 failed, 6 retries")

				c := s.calls
				require.Len(t, c["000"], 3)
				require.Len(t, c["001"], 5)
				require.Len(t, c["002"], 1)
				require.Len(t, c["003"], 1)
				require.Len(t, c["004"], 1)
				// Retry-After is honoured: 3 s after the call returned.
				require.Equal(t, c["000"][0]+3*time.Second+10*time.Millisecond, c["000"][1])
				require.Equal(t, c["000"][1]+3*time.Second+10*time.Millisecond, c["000"][2])
				// The backoff doubles from 100 ms, each wait between half
				// and all of it.
				for i, want := range []time.Duration{100, 200, 400, 800} {
					wait := c["001"][i+1] - c["001"][i] - 10*time.Millisecond
					require.GreaterOrEqual(t, wait, want*time.Millisecond/2, "wait %d", i)
					require.LessOrEqual(t, wait, want*time.Millisecond, "wait %d", i)
				}
				if workers == 1 {
					// The plan's order: 004 only after 000's retries.
					require.Greater(t, c["004"][0], c["000"][2])
					return
				}
				// The waits held no worker: while 000 and 001 waited, the two
				// workers went on with 002 and 003, then 004.
				require.Equal(t, 10*time.Millisecond, c["002"][0])
				require.Equal(t, 10*time.Millisecond, c["003"][0])
				require.Equal(t, 20*time.Millisecond, c["004"][0])
				require.Equal(t, c["000"][2]+10*time.Millisecond, time.Since(start))
			})
		})
	}
}

// TestApplyRetryPolicy: Retry sets the attempts, waits and time; Attempts 1
// retries nothing.
func TestApplyRetryPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ds := newUsers(t, 2)
		s := newScripted(0)
		tmp := Temporary(errors.New("reset by peer"))
		s.script["000"] = []error{tmp, tmp, tmp}
		s.script["001"] = []error{tmp}
		r, err := ds.Apply(context.Background(), mustPlan(t, ds), s, Workers(2), BatchSize(1),
			Retry(RetryPolicy{Attempts: 2, Wait: time.Second, MaxWait: time.Second}))
		require.Error(t, err)
		checkReport(t, r)
		require.Equal(t, 1, r.Applied)
		require.Equal(t, 2, r.Retries)
		require.Len(t, s.calls["000"], 2)
		require.InDelta(t, float64(750*time.Millisecond), float64(s.calls["000"][1]), float64(250*time.Millisecond))

		ds = newUsers(t, 1)
		s = newScripted(0)
		s.script["000"] = []error{tmp}
		r, err = ds.Apply(context.Background(), mustPlan(t, ds), s, Retry(RetryPolicy{Attempts: 1}))
		require.ErrorIs(t, err, tmp)
		require.Zero(t, r.Retries)
		require.Len(t, s.calls["000"], 1)
	})
}

// TestApplyRetryBatch: a *BatchError whose Err is temporary says that the
// actions before Index were applied; the retry starts at Index.
func TestApplyRetryBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ds := newUsers(t, 5)
		var calls [][]string
		tmpl := TemplateFunc(func(ctx context.Context, batch []Action) error {
			var ids []string
			for _, a := range batch {
				ids = append(ids, a.ID)
			}
			calls = append(calls, ids)
			if len(calls) == 1 {
				return &BatchError{Index: 2, Err: RetryAfter(errors.New("429 Too Many Requests"), time.Second)}
			}
			return nil
		})
		r, err := ds.Apply(context.Background(), mustPlan(t, ds), tmpl)
		require.NoError(t, err)
		checkReport(t, r)
		require.Equal(t, 5, r.Applied)
		require.Equal(t, 1, r.Retries)
		require.Equal(t, [][]string{{"000", "001", "002", "003", "004"}, {"002", "003", "004"}}, calls)
	})
}

func TestTemporary(t *testing.T) {
	require.NoError(t, Temporary(nil))
	require.NoError(t, RetryAfter(nil, time.Second))
	cause := errors.New("503")
	err := fmt.Errorf("PUT /api/users/x: %w", RetryAfter(cause, 2*time.Second))
	var te *TemporaryError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 2*time.Second, te.After)
	require.ErrorIs(t, err, cause)
	require.EqualError(t, err, "PUT /api/users/x: 503")
}

// TestApplyRetryJitter: workers that fail together do not retry together.
func TestApplyRetryJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ds := newUsers(t, 10)
		s := newScripted(0)
		for i := range 10 {
			s.script[fmt.Sprintf("%03d", i)] = []error{Temporary(errors.New("503"))}
		}
		r, err := ds.Apply(context.Background(), mustPlan(t, ds), s, Workers(10), BatchSize(1))
		require.NoError(t, err)
		require.Equal(t, 10, r.Retries)
		retried := map[time.Duration]bool{}
		for _, c := range s.calls {
			require.Len(t, c, 2)
			require.Zero(t, c[0])
			require.GreaterOrEqual(t, c[1], 50*time.Millisecond)
			require.LessOrEqual(t, c[1], 100*time.Millisecond)
			retried[c[1]] = true
		}
		require.Greater(t, len(retried), 5, "the retries are spread")
	})
}

// TestRetryDelayBounds: whatever the policy and the server's Retry-After,
// the wait is within the policy's bounds and never overflows.
func TestRetryDelayBounds(t *testing.T) {
	tmp := Temporary(errors.New("503"))
	huge := RetryAfter(errors.New("503"), time.Duration(math.MaxInt64))
	for _, tt := range []struct {
		name     string
		p        RetryPolicy
		err      error
		attempts int
		ok       bool
		lo, hi   time.Duration
	}{
		{"first wait", DefaultRetryPolicy, tmp, 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"capped", DefaultRetryPolicy, tmp, 4, true, 400 * time.Millisecond, 800 * time.Millisecond},
		{"huge policy", RetryPolicy{Attempts: 1000, Wait: time.Second, MaxWait: math.MaxInt64, MaxTime: math.MaxInt64}, tmp, 999, true, math.MaxInt64 / 4, math.MaxInt64},
		{"MaxWait below Wait", RetryPolicy{Attempts: 5, Wait: time.Hour, MaxWait: time.Second, MaxTime: time.Hour}, tmp, 3, true, time.Second / 2, time.Second},
		{"huge Retry-After", DefaultRetryPolicy, huge, 1, false, 0, 0},
		{"negative Retry-After", DefaultRetryPolicy, RetryAfter(errors.New("503"), -time.Hour), 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"attempts spent", DefaultRetryPolicy, tmp, 5, false, 0, 0},
		{"not temporary", DefaultRetryPolicy, errors.New("400"), 1, false, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 100 {
				d, ok := tt.p.withDefaults().delay(tt.err, tt.attempts, time.Now())
				require.Equal(t, tt.ok, ok)
				require.GreaterOrEqual(t, d, tt.lo)
				require.LessOrEqual(t, d, tt.hi)
			}
		})
	}
}
