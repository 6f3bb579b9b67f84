package dss

import (
	"fmt"
	"iter"
	"strings"
)

// Plan is a diff made data: the actions that make the destination equal to
// the source, with a summary and the guards' verdict. Datastore.Plan makes
// one; it prints for review (Print), encodes to JSON (see MarshalJSON) so
// that a later run can apply what was reviewed, and is applied at most once
// by Datastore.Apply.
type Plan struct {
	Source string // the source tree's name
	Dest   string // the destination tree's name
	// SourceCounts is the number of objects in each source branch.
	SourceCounts map[string]int
	Actions      []Action
	// Summary counts the actions per branch.
	Summary Summary

	s, d           *tree  // the trees it was made from; nil for a decoded plan
	srcGen, dstGen uint64 // their imports it was made from
	refusal        error  // the verdict: why Apply refuses it, or nil
	spent          bool   // Apply has called the template with it

	// A decoded plan holds the destination's fingerprints as they were when
	// it was made, and each action's source object as a record, to be
	// decoded into the source tree's types by Apply.
	decoded      bool
	fingerprints map[string]string
	sources      []Record

	key *PlanKey // a plan Plan made: the key MarshalJSON tags it with, or nil
	mac *macJSON // a decoded plan: the tag it was read with, or nil
}

// Refusal returns why Datastore.Apply refuses the plan, or nil: a
// *GuardError when the plan breaks a destination branch's Guard, an error
// wrapping ErrInvalidGuard when a Guard's limit is out of range, or a model
// error (wrapping ErrNoAttr, ErrIntegrity or ErrNoBranch) when the two
// trees' object types disagree. The verdict is made with the plan, by the
// code Apply runs, so a dry run that prints it and the real run agree. A
// decoded plan has no verdict until Apply judges it against the destination
// imported then.
func (p *Plan) Refusal() error { return p.refusal }

// judge is the verdict on a plan for the destination d: model errors first,
// then the guards.
func judge(p *Plan, d *tree) error {
	for _, a := range p.Actions {
		if a.Kind == KindError {
			return fmt.Errorf("dss: %s: the trees' object models disagree: %w", a.message(false), a.Err)
		}
		if b, ok := d.byName[a.Branch]; ok && a.Kind == KindOld && b.keepUnmatched() {
			return fmt.Errorf("dss: %s: branch %s keeps what only the destination has (KeepUnmatched)", a.message(false), fmtBare(a.Branch))
		}
	}
	return checkGuards(p, d)
}

// makePlan collects the plan of s to d; the callers have checked the imports.
func makePlan(s, d *tree) *Plan {
	p := &Plan{Source: s.name, Dest: d.name, SourceCounts: map[string]int{}}
	for _, b := range s.branches {
		p.SourceCounts[b.Name()] = b.Len()
	}
	// The diff counts the actions as it compares, so that the plan is
	// allocated once: collecting them in chunks and copying took three
	// times the plan's memory at its peak.
	td := compareTrees(s, d)
	if n := td.count(); n > 0 {
		p.Actions = make([]Action, 0, n)
	}
	sum, _ := summarize(s, d, td.actions, func(a Action) error {
		p.Actions = append(p.Actions, a)
		return nil
	})
	p.Summary = sum
	p.s, p.d, p.srcGen, p.dstGen = s, d, s.gen, d.gen
	p.refusal = judge(p, d)
	return p
}

// BranchSummary counts what a plan does to one branch of the destination.
type BranchSummary struct {
	Branch    string `json:"branch"`
	Created   int    `json:"created"`   // new_<branch> actions
	Updated   int    `json:"updated"`   // objects with at least one attribute change
	Deleted   int    `json:"deleted"`   // old_<branch> actions
	Unchanged int    `json:"unchanged"` // objects on both sides with no change
}

// Summary counts what a plan does, per branch in the source's branch order.
type Summary struct {
	Branches []BranchSummary `json:"branches"`
	Errors   int             `json:"errors"` // model errors (KindError actions)
}

// Changes returns the number of objects the plan creates, updates or deletes.
func (s Summary) Changes() int {
	n := 0
	for _, b := range s.Branches {
		n += b.Created + b.Updated + b.Deleted
	}
	return n
}

// String returns the summary as a small table, one line per branch.
func (s Summary) String() string {
	w := len("branch")
	for _, bs := range s.Branches {
		w = max(w, len(bs.Branch))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  created  updated  deleted  unchanged\n", w, "branch")
	for _, bs := range s.Branches {
		fmt.Fprintf(&b, "%-*s  %7d  %7d  %7d  %9d\n", w, bs.Branch, bs.Created, bs.Updated, bs.Deleted, bs.Unchanged)
	}
	if s.Errors > 0 {
		fmt.Fprintf(&b, "%d model errors\n", s.Errors)
	}
	return b.String()
}

// lastObject is the object the previous action was about: an object with
// several attribute changes counts as one update.
type lastObject struct{ branch, id string }

// count adds one action to the summary, whose rows are at[branch]. It
// returns false for an action of a branch the summary has no row for.
func (s *Summary) count(at map[string]int, a Action, last *lastObject) bool {
	i, ok := at[a.Branch]
	if !ok {
		return false
	}
	bs := &s.Branches[i]
	switch a.Kind {
	case KindError:
		s.Errors++
	case KindNew:
		bs.Created++
	case KindOld:
		bs.Deleted++
	default:
		if o := (lastObject{a.Branch, a.ID}); o != *last {
			bs.Updated++
			*last = o
		}
	}
	return true
}

// summarize counts the plan's actions; unchanged objects are those the two
// sides share (source objects not created) that no action changed.
func summarize(s, d *tree, plan iter.Seq[Action], each func(Action) error) (Summary, error) {
	var sum Summary
	at := map[string]int{}
	for _, b := range s.branches {
		if _, ok := d.byName[b.Name()]; ok {
			at[b.Name()] = len(sum.Branches)
			sum.Branches = append(sum.Branches, BranchSummary{Branch: b.Name()})
		}
	}
	var last lastObject
	for a := range plan {
		if each != nil {
			if err := each(a); err != nil {
				return sum, err
			}
		}
		if !sum.count(at, a, &last) {
			sum.Errors++ // err_no_branch: a branch without a twin
		}
	}
	for i := range sum.Branches {
		bs := &sum.Branches[i]
		bs.Unchanged = s.byName[bs.Branch].Len() - bs.Created - bs.Updated
	}
	return sum, nil
}
