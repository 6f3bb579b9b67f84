package dsstest

import (
	"strings"
	"testing"

	"github.com/datastoresync/dss"
)

// Converges checks that applying ds's plan leaves nothing to do: it copies
// ds.Dest, as imported, into a [Memory] (see NewMemory: ds.Dest imports
// from the Memory from then on), applies the plan to the Memory, imports
// ds.Dest again and makes the next plan, which must be empty. It reports
// an error (t.Errorf) when the plan cannot be made, is refused by the
// guards (set the destination branches' Guard in the test to allow it), or
// fails to apply, and when the next plan is not empty, with a diff of what
// is left (-want +got) and the plan that was applied.
//
// Both trees must have been imported. Converges returns the Memory, which
// holds the destination as the plan left it.
func Converges[S, D any](t testing.TB, ds *dss.Datastore[S, D]) *Memory {
	t.Helper()
	m := NewMemory(ds)
	p, err := ds.Plan()
	if err != nil {
		t.Errorf("dsstest: converges: %v", err)
		return m
	}
	if err := p.Refusal(); err != nil {
		t.Errorf("dsstest: converges: the plan is refused: %v", err)
		return m
	}
	if r, err := ds.Apply(t.Context(), p, m); err != nil {
		if r != nil {
			t.Errorf("dsstest: converges: %v\n%v", err, r)
		} else {
			t.Errorf("dsstest: converges: %v", err)
		}
		return m
	}
	if err := ds.ImportDest(t.Context()); err != nil {
		t.Errorf("dsstest: converges: import the destination again: %v", err)
		return m
	}
	next, err := ds.Plan()
	if err != nil {
		t.Errorf("dsstest: converges: the next plan: %v", err)
		return m
	}
	if left := Lines(next); len(left) > 0 {
		t.Errorf("dsstest: the plan does not converge: after it was applied, the next plan is not empty (-want +got):\n%s\nthe plan applied:\n\t%s",
			strings.TrimRight(diffLines(nil, left), "\n"), strings.Join(Lines(p), "\n\t"))
	}
	return m
}
