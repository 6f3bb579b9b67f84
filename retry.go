package dss

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// TemporaryError marks a template's error as temporary: the action did not
// happen and may succeed if called again (an HTTP 429 or 503, a reset
// connection). Apply retries the action instead of failing it; every other
// error fails the action at once. A template makes one with [Temporary] or
// [RetryAfter], and may return it inside a *BatchError to say that the
// batch stopped at a temporary failure.
type TemporaryError struct {
	Err error
	// After, when positive, is how long the destination asked to wait
	// before the next try (an HTTP Retry-After header). Apply waits at
	// least that long.
	After time.Duration
}

// Error returns the cause's text.
func (e *TemporaryError) Error() string { return fmt.Sprint(e.Err) }

// Unwrap returns the cause.
func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary marks err as temporary, so that Apply retries the action that
// returned it. Temporary(nil) is nil.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return &TemporaryError{Err: err}
}

// RetryAfter marks err as temporary, with the wait the destination asked
// for before the next try (an HTTP Retry-After header). RetryAfter(nil, d)
// is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &TemporaryError{Err: err, After: d}
}

// RetryPolicy says how Apply retries an action whose call returned a
// temporary error: it waits Wait, then twice as long each time (at most
// MaxWait, and at least what the error's After asks), each wait drawn at
// random between half and all of it (jitter, so that workers that failed
// together do not retry together). It gives up, failing the action with
// its last error, after Attempts calls or when the next try would start
// more than MaxTime after the first. A zero field takes the default's.
type RetryPolicy struct {
	Attempts int           // calls of one action at most, the first included; 1 retries nothing
	Wait     time.Duration // the first wait
	MaxWait  time.Duration // the longest wait of the backoff (a longer After is still honoured)
	MaxTime  time.Duration // the longest time from an action's first call to its last
}

// DefaultRetryPolicy is what Apply retries with unless given Retry.
var DefaultRetryPolicy = RetryPolicy{Attempts: 5, Wait: 100 * time.Millisecond, MaxWait: 10 * time.Second, MaxTime: time.Minute}

// withDefaults returns p with every zero field taken from the default.
func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.Attempts == 0 {
		p.Attempts = d.Attempts
	}
	if p.Wait == 0 {
		p.Wait = d.Wait
	}
	if p.MaxWait == 0 {
		p.MaxWait = d.MaxWait
	}
	if p.MaxTime == 0 {
		p.MaxTime = d.MaxTime
	}
	return p
}

func (p RetryPolicy) check() error {
	if p.Attempts < 0 || p.Wait < 0 || p.MaxWait < 0 || p.MaxTime < 0 {
		return fmt.Errorf("Retry(%+v): a negative field", p)
	}
	return nil
}

// delay says how long to wait before the next call of an action that
// returned err after attempts calls, the first at since; false when err is
// not temporary or the policy gives up.
func (p RetryPolicy) delay(err error, attempts int, since time.Time) (time.Duration, bool) {
	var te *TemporaryError
	if !errors.As(err, &te) || attempts >= p.Attempts {
		return 0, false
	}
	d := min(p.Wait, p.MaxWait)
	for i := 1; i < attempts && d < p.MaxWait; i++ {
		d = min(d, p.MaxWait/2) * 2 // never past MaxWait, never overflowing
	}
	d = d/2 + rand.N(d/2+1)
	d = max(d, te.After)
	if left := p.MaxTime - time.Since(since); d > left {
		return 0, false
	}
	return d, true
}
