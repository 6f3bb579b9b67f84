package dss

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"strings"
)

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
	var lastBranch, lastID string
	for a := range plan {
		if each != nil {
			if err := each(a); err != nil {
				return sum, err
			}
		}
		i, ok := at[a.Branch]
		if !ok || a.Kind == KindError {
			sum.Errors++
			continue
		}
		bs := &sum.Branches[i]
		switch a.Kind {
		case KindNew:
			bs.Created++
		case KindOld:
			bs.Deleted++
		default:
			if a.Branch != lastBranch || a.ID != lastID {
				bs.Updated++
				lastBranch, lastID = a.Branch, a.ID
			}
		}
	}
	for i := range sum.Branches {
		bs := &sum.Branches[i]
		bs.Unchanged = s.byName[bs.Branch].Len() - bs.Created - bs.Updated
	}
	return sum, nil
}

// Print is the original's source > dest: it writes the plan to w, one
// action per line, a blank line, the summary and, when the plan would be
// refused, a last line that says why:
//
//	new_users(idnumber='22222')
//	update_name(idnumber='11111', attr="name", value="Old Name")
//
//	branch  created  updated  deleted  unchanged
//	users         1        1        0          0
//	groups        0        0        0          1
//
// It returns the first write error.
func (p *Plan) Print(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, a := range p.Actions {
		bw.WriteString(a.String())
		bw.WriteByte('\n')
	}
	if len(p.Actions) > 0 {
		bw.WriteByte('\n')
	}
	bw.WriteString(p.Summary.String())
	if p.refusal != nil {
		fmt.Fprintf(bw, "refused: %v\n", p.refusal)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dss: print: %w", err)
	}
	return nil
}
