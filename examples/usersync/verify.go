package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/datastoresync/dss"
)

// verify checks, after the apply and before the commit, that the database
// now holds what the run wrote. Some columns do not keep a value as it was
// written: a timestamp without time zone drops the offset, timestamptz
// keeps microseconds, real keeps a float32, char(n) pads, a trigger
// rewrites. Such a database never converges, and every run would apply the
// same changes again without a word; verify makes it an error instead, and
// the run rolls back.
//
// It imports the destination again through the run's transaction, which
// sees the run's own uncommitted writes. A run that planned from the export
// plans again: the new plan must be empty. A run that applied a saved plan
// has no export to compare with; each object the plan touched must then
// equal the plan's source object, or be gone when the plan removed it.
func verify(ctx context.Context, ds *dss.Datastore[Source, Dest], report *dss.Report, saved, showValues bool) error {
	if err := ds.ImportDest(ctx); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var left []dss.Action
	against := "the export"
	if saved {
		against = "the plan"
		left = notStuck(ds.Dest, report.Plan)
	} else {
		plan, err := ds.Plan()
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		left = plan.Actions
	}
	if len(left) == 0 {
		return nil
	}
	return fmt.Errorf("verify: after %d actions were applied, the database still differs from %s by %d actions, the first %s;"+
		" a column type or a trigger does not keep the values as written, so no run would converge (-no-verify commits anyway)",
		report.Applied, against, len(left), describe(left[0], showValues))
}

// notStuck returns what is left to do, after a saved plan was applied, to
// the objects it touched, as the destination holds them now: for each
// object, the actions that would make it equal to the plan's source object,
// or its old_ action when the plan removed it and it is still there.
func notStuck(dest *dss.Tree[Dest], applied []dss.Action) []dss.Action {
	type object struct{ branch, id string }
	seen := map[object]bool{}
	var left []dss.Action
	for _, a := range applied {
		if seen[object{a.Branch, a.ID}] {
			continue
		}
		seen[object{a.Branch, a.ID}] = true
		switch a.Branch {
		case "users":
			d, ok := dest.Branches.Users.Get(a.ID)
			left = append(left, objectLeft[SourceUser](a, d, ok)...)
		case "groups":
			d, ok := dest.Branches.Groups.Get(a.ID)
			left = append(left, objectLeft[Group](a, d, ok)...)
		default: // Apply binds no action to a branch the trees lack; if it did, it is not verified
			left = append(left, a)
		}
	}
	return left
}

// objectLeft is notStuck for one object, given the first action the plan
// had for it and the object as the destination holds it now, if it does.
func objectLeft[S, D any](a dss.Action, dst *D, found bool) []dss.Action {
	if a.Kind == dss.KindOld {
		if found {
			return []dss.Action{a}
		}
		return nil
	}
	src, ok := a.Source.(*S)
	switch {
	case !ok: // Apply binds each action to its source object; without one, nothing is verified
		return []dss.Action{a}
	case !found:
		return []dss.Action{{Kind: dss.KindNew, Name: "new_" + a.Branch, Branch: a.Branch, ID: a.ID, Source: src}}
	}
	return slices.Collect(dss.DiffObjects(a.Branch, src, dst))
}

// describe writes an action for an error message: as it prints
// (Action.String) with showValues; else its name, idnumber and attribute
// only, with the value [redacted], as dss's own errors do.
func describe(a dss.Action, showValues bool) string {
	if showValues {
		s := a.String()
		if a.Kind == dss.KindUpdate {
			s += fmt.Sprintf(" (the database holds %s)", strconv.Quote(fmt.Sprint(a.DestValue)))
		}
		return s
	}
	return a.Redacted()
}
