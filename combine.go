package dss

import (
	"context"
	"fmt"
	"strings"
)

// Brancher is an optional interface of a Template that applies the actions
// of one branch only, such as a table mapping: Combine hands it that
// branch's actions and no other.
type Brancher interface {
	// Branch returns the name of the branch the template serves (users).
	Branch() string
}

// Combine returns one Template made of several, so that a program can
// apply a plan through a template per branch (a table mapping each) and
// its own methods for the rest:
//
//	tmpl := dss.Combine(usersTable, groupsTable, dss.Methods(&Accounts{}))
//
// Each batch goes to the first of templates that handles its actions. A
// template handles an action when it is not a [Brancher] or its Branch is
// the action's branch, and it is not an [Implementer] or it implements the
// action's name; so a template that is neither handles every action, and
// one after it is never reached. Apply cuts batches at every change of
// action name or branch, so a batch always belongs to one template.
//
// The combination is an Implementer: Datastore.Apply refuses, before the
// first action, a plan with an action that no template handles (unless
// AllowPartial). It is safe for concurrent use, and may run on Workers,
// when every template is. Templates made by [Methods] are resolved against the
// destination as they are when given alone, and their problems are
// reported together in one *TemplateError. A nil template is reported
// there too.
func Combine(templates ...Template) Template {
	return &combined{parts: templates}
}

// combined is the template Combine returns; resolve makes a copy with its
// Methods parts resolved for one destination.
type combined struct {
	parts []Template
}

// handles reports whether t takes the action named name of branch.
func handles(t Template, branch, name string) bool {
	if b, ok := t.(Brancher); ok && b.Branch() != branch {
		return false
	}
	if im, ok := t.(Implementer); ok && !im.Implements(name) {
		return false
	}
	return true
}

// part returns the template that takes the action named name of branch,
// or nil.
func (c *combined) part(branch, name string) Template {
	for _, t := range c.parts {
		if handles(t, branch, name) {
			return t
		}
	}
	return nil
}

// Apply hands the batch to the template that handles its first action;
// Datastore.Apply gives it batches of one name and one branch.
func (c *combined) Apply(ctx context.Context, batch []Action) error {
	if len(batch) == 0 {
		return nil
	}
	a := batch[0]
	t := c.part(a.Branch, a.Name)
	if t == nil {
		return fmt.Errorf("%w: %s of branch %s", ErrNotImplemented, a.Name, a.Branch)
	}
	return t.Apply(ctx, batch)
}

// Implements reports whether some template implements name, for any
// branch; Datastore.Apply asks handlesAction, which knows the branch.
func (c *combined) Implements(name string) bool {
	for _, t := range c.parts {
		if im, ok := t.(Implementer); !ok || im.Implements(name) {
			return true
		}
	}
	return false
}

// Concurrent reports whether every template is safe for concurrent use
// (see [Concurrent]): Apply refuses Workers for a combination with one
// that is not.
func (c *combined) Concurrent() bool {
	for _, t := range c.parts {
		if !isConcurrent(t) {
			return false
		}
	}
	return len(c.parts) > 0
}

// handlesAction reports whether some template takes a.
func (c *combined) handlesAction(a Action) bool { return c.part(a.Branch, a.Name) != nil }

// batchLimit is the limit of the template that takes the actions named
// name of branch; a template without one takes any batch.
func (c *combined) batchLimit(branch, name string) int {
	if l, ok := c.part(branch, name).(batchLimiter); ok {
		return l.batchLimit(branch, name)
	}
	return 0
}

// resolveFor returns c with its Methods and nested Combine parts resolved
// against the destination t, or one *TemplateError with every part's
// problems.
func (c *combined) resolveFor(t *tree) (Template, error) {
	parts := make([]Template, len(c.parts))
	var problems []string
	for i, p := range c.parts {
		if p == nil {
			problems = append(problems, fmt.Sprintf("template %d of %d is nil", i+1, len(c.parts)))
			continue
		}
		r, ok := p.(resolver)
		if !ok {
			parts[i] = p
			continue
		}
		rp, err := r.resolveFor(t)
		if te, ok := err.(*TemplateError); ok {
			for _, pr := range te.Problems {
				problems = append(problems, fmt.Sprintf("template %d (%s): %s", i+1, te.Type, pr))
			}
			continue
		} else if err != nil {
			return nil, err
		}
		parts[i] = rp
	}
	if len(problems) > 0 {
		return nil, &TemplateError{Type: c.typeName(), Problems: problems}
	}
	return &combined{parts: parts}, nil
}

// typeName names the combination by its parts' types, for errors.
func (c *combined) typeName() string {
	names := make([]string, len(c.parts))
	for i, p := range c.parts {
		names[i] = templateType(p)
	}
	return "dss.Combine(" + strings.Join(names, ", ") + ")"
}

// templateType names a template's type for errors: the type given to
// Methods, not the adapter's.
func templateType(t Template) string {
	switch t := t.(type) {
	case *methods:
		return fmt.Sprintf("%T", t.v)
	case *combined:
		return t.typeName()
	}
	return fmt.Sprintf("%T", t)
}
