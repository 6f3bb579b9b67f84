package dss

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// review.go holds what the two reviews of a plan written for people share,
// the HTML page (WriteHTML) and the Markdown summary (WriteMarkdown): the
// verdict, the counts per branch and kind, the actions in groups of one
// branch and kind, the text of each action as Print shows it, and the cap
// that keeps a review of a huge plan within a size.

// review is a plan made ready to be shown.
type review struct {
	p      *Plan
	redact bool          // values show as [redacted]
	counts []branchCount // per branch, in the source's branch order
	groups []reviewGroup // errors first, then per branch: new, update, list changes, old
}

// branchCount is the number of actions of each kind in one branch.
type branchCount struct {
	branch    string
	kinds     [KindOld + 1]int
	unchanged int // objects the plan leaves alone, from the summary
}

// reviewGroup is the actions of one branch and kind, in plan order. The
// list changes of a branch (add and remove) make one group, of KindAdd, so
// that an object's added and removed elements show side by side.
type reviewGroup struct {
	branch string
	kind   Kind
	idx    []int // indices into Plan.Actions
	shown  int   // how many of them, from the first, the review holds
}

// kindLabel is how a review names a group's kind.
func (g *reviewGroup) kindLabel() string {
	switch g.kind {
	case KindAdd:
		return "list changes"
	case KindError:
		return "model errors"
	}
	return g.kind.String()
}

// groupKinds is the order of a branch's groups.
var groupKinds = [...]Kind{KindError, KindNew, KindUpdate, KindAdd, KindOld}

// newReview groups the plan's actions. Values are redacted as dss's errors
// redact them: when either tree the plan was made from has RedactValues set.
func newReview(p *Plan) *review {
	r := &review{p: p, redact: p.s != nil && (p.s.redact || p.d.redact)}
	at := map[string]int{}
	branch := func(name string) int {
		i, ok := at[name]
		if !ok {
			i = len(r.counts)
			at[name] = i
			r.counts = append(r.counts, branchCount{branch: name})
		}
		return i
	}
	for _, bs := range p.Summary.Branches {
		r.counts[branch(bs.Branch)].unchanged = bs.Unchanged
	}
	// byKind[kind][branch] is the group's actions.
	var byKind [len(groupKinds)][][]int
	slot := func(k Kind) int {
		switch k {
		case KindRemove:
			k = KindAdd
		case KindOld:
			return 4
		}
		return int(k)
	}
	for i := range p.Actions {
		a := &p.Actions[i]
		b := branch(a.Branch)
		if int(a.Kind) < len(r.counts[b].kinds) {
			r.counts[b].kinds[a.Kind]++
		}
		k := min(slot(a.Kind), len(groupKinds)-1)
		for len(byKind[k]) <= b {
			byKind[k] = append(byKind[k], nil)
		}
		byKind[k][b] = append(byKind[k][b], i)
	}
	add := func(k, b int) {
		if b < len(byKind[k]) && len(byKind[k][b]) > 0 {
			r.groups = append(r.groups, reviewGroup{branch: r.counts[b].branch, kind: groupKinds[k], idx: byKind[k][b]})
		}
	}
	for b := range r.counts {
		add(0, b) // model errors before everything
	}
	for b := range r.counts {
		for k := 1; k < len(groupKinds); k++ {
			add(k, b)
		}
	}
	return r
}

// redactsSome reports whether the review hides a value: it redacts, and
// the plan has actions with values.
func (r *review) redactsSome() bool {
	return r.redact && r.total(KindUpdate)+r.total(KindAdd)+r.total(KindRemove) > 0
}

// total is the number of actions of kind k in the plan.
func (r *review) total(k Kind) int {
	n := 0
	for _, c := range r.counts {
		n += c.kinds[k]
	}
	return n
}

// Verdict states.
const (
	verdictRefused  = "refused"
	verdictNothing  = "nothing"
	verdictAccepted = "accepted"
	verdictUnjudged = "unjudged"
)

// verdict is what the guards said of the plan, first in every review: its
// state, a title and, for a refused plan, the guard's words on one line.
func (r *review) verdict() (state, title, reason string) {
	p := r.p
	switch {
	case p.refusal != nil:
		return verdictRefused, "Refused: Apply will not run this plan", escapeText(p.refusal.Error())
	case p.decoded:
		return verdictUnjudged, fmt.Sprintf("Not judged yet: this plan of %s was read from a file; the guards judge it when it is applied", plural(len(p.Actions), "action")), ""
	case len(p.Actions) == 0:
		return verdictNothing, "Nothing to do: the destination equals the source", ""
	}
	return verdictAccepted, fmt.Sprintf("Accepted by the guards: %s, changing %s",
		plural(len(p.Actions), "action"), plural(p.Summary.Changes(), "object")), ""
}

// plural is n and the noun, with an s unless n is 1, and n with thousands
// separators.
func plural(n int, noun string) string {
	if n != 1 {
		noun += "s"
	}
	return thousands(n) + " " + noun
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// actionText is an action's parts as a review shows them, each one line of
// printable text: the idnumber as messages write it ('22222'), the
// attribute, and the values through Action.shown, as Print shows them.
type actionText struct {
	id, attr     string
	value, dest  string // update, add and remove; dest for update only
	err          string // model errors
	size         int    // the bytes of all of them
	listElements bool   // add or remove
}

// maxTextBytes caps each text of an action in a review: a value of a
// megabyte shows its first kilobyte and how much was left out.
const maxTextBytes = 1000

// clip cuts s to maxTextBytes at a rune boundary, saying how much is left out.
func clip(s string) string {
	if len(s) <= maxTextBytes {
		return s
	}
	n := maxTextBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "… (" + thousands(len(s)-n) + " more bytes)"
}

// text is the i-th action of the plan as a review shows it.
func (r *review) text(i int) actionText {
	a := &r.p.Actions[i]
	t := actionText{}
	if a.ID != "" {
		t.id = clip(fmtID(a.ID))
	}
	if a.Attr != "" {
		t.attr = clip(fmtName(a.Attr))
	}
	switch a.Kind {
	case KindUpdate:
		t.value, t.dest = clip(a.shown(a.Value, r.redact)), clip(a.shown(a.DestValue, r.redact))
	case KindAdd, KindRemove:
		t.value, t.listElements = clip(a.shown(a.Value, r.redact)), true
	case KindError:
		if a.Err != nil {
			t.err = clip(escapeText(a.Err.Error()))
		}
	}
	t.size = len(t.id) + len(t.attr) + len(t.value) + len(t.dest) + len(t.err)
	return t
}

// fit sets each group's shown: the first n actions of every group, the same
// n for all (a group smaller than n shows whole), as large as it can be up
// to perGroup while the review holds at most maxActions actions and the
// costs of the actions it holds add up to at most maxBytes. cost(g, k) is
// what the k-th action of the g-th group takes; it is called once for each
// of the first min(perGroup, maxActions) of each group, in order.
func (r *review) fit(perGroup, maxActions, maxBytes int, cost func(g, k int) int) {
	sums := make([][]int, len(r.groups)) // sums[g][k]: the cost of the first k
	longest := 0
	for g := range r.groups {
		idx := r.groups[g].idx[:min(len(r.groups[g].idx), maxActions, perGroup)]
		s := make([]int, len(idx)+1)
		for k := range idx {
			s[k+1] = s[k] + cost(g, k)
		}
		sums[g] = s
		longest = max(longest, len(idx))
	}
	fits := func(n int) bool {
		actions, bytes := 0, 0
		for g := range sums {
			k := min(n, len(sums[g])-1)
			actions += k
			bytes += sums[g][k]
		}
		return actions <= maxActions && bytes <= maxBytes
	}
	lo, hi := 0, longest // fits(lo); the answer is in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for g := range r.groups {
		r.groups[g].shown = min(lo, len(r.groups[g].idx))
	}
}

// left is the number of actions the review leaves out.
func (r *review) left() int {
	n := 0
	for _, g := range r.groups {
		n += len(g.idx) - g.shown
	}
	return n
}
