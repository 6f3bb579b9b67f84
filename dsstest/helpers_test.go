package dsstest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// fakeT records what a helper reports, so that a test can check that a
// helper fails when it should, and says why. Everything else goes to the
// real test.
type fakeT struct {
	testing.TB
	errors []string // Errorf and Fatalf messages, in order
	logs   []string
	fatal  bool
}

func (f *fakeT) Helper() {}

func (f *fakeT) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}

func (f *fakeT) Fatalf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
	f.fatal = true
	runtime.Goexit()
}

func (f *fakeT) Logf(format string, a ...any) { f.logs = append(f.logs, fmt.Sprintf(format, a...)) }

// run calls fn with a fakeT on a goroutine of its own, as testing runs a
// test, so that Fatalf can stop it.
func run(t *testing.T, fn func(tb testing.TB)) *fakeT {
	t.Helper()
	f := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

// passed fails t if the helper reported anything.
func (f *fakeT) passed(t *testing.T) {
	t.Helper()
	if len(f.errors) > 0 {
		t.Fatalf("the helper failed:\n%s", strings.Join(f.errors, "\n"))
	}
}

// failed fails t unless the helper reported exactly one failure, fatal or
// not as wanted, that holds every string of want; it returns the message.
func (f *fakeT) failed(t *testing.T, fatal bool, want ...string) string {
	t.Helper()
	if len(f.errors) != 1 {
		t.Fatalf("the helper reported %d failures, want 1: %q", len(f.errors), f.errors)
	}
	if f.fatal != fatal {
		t.Errorf("fatal = %v, want %v", f.fatal, fatal)
	}
	for _, w := range want {
		if !strings.Contains(f.errors[0], w) {
			t.Errorf("the failure does not say %q:\n%s", w, f.errors[0])
		}
	}
	return f.errors[0]
}
