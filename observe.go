package dss

import (
	"context"
	"log/slog"
	"time"
)

// Progress is where a long import or apply is, for a program's own
// progress bar or metrics: see Datastore.Progress.
type Progress struct {
	Phase string // "import" or "apply"
	Tree  string // the tree being imported, or the destination applied to
	// Branch is the branch being imported; for an apply, the name of the
	// action the template is at (new_users, update_name, ...).
	Branch string
	// Done is the number of records read from the branch so far, or the
	// number of the plan's actions reached so far.
	Done int
	// Total is the number of actions in the plan; 0 for an import, whose
	// size is not known ahead.
	Total int
	// Elapsed is the time since the branch's import, or the apply, began.
	Elapsed time.Duration
}

// observer tells a datastore's logger and progress callback how its
// phases go. A nil observer, or one with neither, does nothing.
type observer struct {
	log      *slog.Logger
	progress func(Progress)
}

func (o *observer) logging(level slog.Level) bool {
	return o != nil && o.log != nil && o.log.Enabled(context.Background(), level)
}

// importTick returns the tick a branch's import calls with its record
// count, or nil when nobody listens.
func (o *observer) importTick(tree, branch string, start time.Time, records *int) func(int) {
	return func(n int) {
		*records = n
		if o != nil && o.progress != nil {
			o.progress(Progress{Phase: "import", Tree: tree, Branch: branch, Done: n, Elapsed: time.Since(start)})
		}
	}
}

func (o *observer) importedBranch(tree, branch string, records, objects int, d time.Duration, err error) {
	if o.logging(slog.LevelDebug) {
		o.log.Debug("dss: import branch", "tree", tree, "branch", branch, "records", records,
			"objects", objects, "duration", d, errAttr(err))
	}
}

func (o *observer) imported(t *tree, d time.Duration, err error) {
	if !o.logging(slog.LevelInfo) {
		return
	}
	objects := 0
	for _, b := range t.branches {
		objects += b.Len()
	}
	o.log.Info("dss: import", "tree", t.name, "objects", objects, "duration", d, errAttr(err))
}

func (o *observer) planned(p *Plan, d time.Duration) {
	if !o.logging(slog.LevelInfo) {
		return
	}
	attrs := []any{"actions", len(p.Actions), "duration", d}
	for _, b := range p.Summary.Branches {
		attrs = append(attrs, slog.Group(b.Branch, "created", b.Created, "updated", b.Updated,
			"deleted", b.Deleted, "unchanged", b.Unchanged))
	}
	if p.refusal != nil {
		o.log.Warn("dss: plan refused", append(attrs, "refusal", p.refusal.Error())...)
		return
	}
	o.log.Info("dss: plan", attrs...)
}

// batch is called after each call of the template, from Apply's own
// goroutine, however many workers call the template: done never goes
// back. retry says whether the call will be made again after wait.
func (o *observer) batch(d *tree, name string, n, done, total int, took time.Duration, start time.Time, err error, retry bool, wait time.Duration) {
	if o.logging(slog.LevelDebug) {
		attrs := []any{"tree", d.name, "action", name, "actions", n, "duration", took, errAttr(err)}
		if retry {
			attrs = append(attrs, "retry_in", wait)
		}
		o.log.Debug("dss: apply batch", attrs...)
	}
	if o != nil && o.progress != nil {
		o.progress(Progress{Phase: "apply", Tree: d.name, Branch: name, Done: done, Total: total, Elapsed: time.Since(start)})
	}
}

func (o *observer) applied(d *tree, r *Report, took time.Duration, err error) {
	if o.logging(slog.LevelInfo) && r != nil {
		o.log.Info("dss: apply", "tree", d.name, "actions", len(r.Plan), "applied", r.Applied,
			"failed", len(r.Failed), "not_reached", len(r.Plan)-r.Attempted, "retries", r.Retries, "duration", took, errAttr(err))
	}
}

// errAttr is the error attribute of a log record, or an empty one.
func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("error", err.Error())
}
