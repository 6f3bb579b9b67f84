package dss

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// scenario is a datastore with one change of every kind, imported.
func scenario(t *testing.T) (*Datastore[srcTree, dstTree], *memDest) {
	t.Helper()
	return newDatastore(t,
		[]Record{
			{"idnumber": "1", "_lastfirst": "B, A", "department": "x", "tags": []string{"t"}},
			{"idnumber": "2", "_lastfirst": "D, C", "department": "y", "age": 3},
		},
		[]Record{
			{"idnumber": "1", "_first": "A", "_last": "Old", "department": "x", "tags": []string{"u"}},
			{"idnumber": "9", "_first": "Z", "_last": "Z", "department": "x"},
		},
		[]Record{{"idnumber": "x", "members": []string{"1", "9"}}, {"idnumber": "old"}},
	)
}

func TestApplyConverges(t *testing.T) {
	// Semantics 10: each action goes to the template method named after it;
	// applying the plan to the destination leaves nothing to do.
	ds, m := scenario(t)
	p := mustPlan(t, ds)
	r, err := ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	require.Equal(t, len(p.Actions), r.Applied)
	require.Equal(t, len(p.Actions), r.Attempted)
	require.Empty(t, r.Failed)
	require.Empty(t, r.NotImplemented)
	require.Equal(t, []string{
		"new_users:2", "new_groups:y",
		"update_name:1", "add_tags_to_users:1", "remove_tags_from_users:1", "remove_members_from_groups:x",
		"old_groups:old", "old_users:9",
	}, m.calls)
	require.NoError(t, ds.ImportDest(context.Background()))
	require.Empty(t, planMessages(mustPlan(t, ds)), "the destination did not converge")
}

// partialTemplate implements four of the scenario's eight actions.
type partialTemplate struct {
	calls int
	fail  map[string]error
	panic string
	after func()
}

func (p *partialTemplate) do(a Action) error {
	p.calls++
	if p.after != nil {
		defer p.after()
	}
	if a.Name == p.panic {
		panic("template bug")
	}
	return p.fail[a.Name]
}

func (p *partialTemplate) NewUsers(ctx context.Context, a Action) error   { return p.do(a) }
func (p *partialTemplate) UpdateName(ctx context.Context, a Action) error { return p.do(a) }
func (p *partialTemplate) OldUsers(ctx context.Context, a Action) error   { return p.do(a) }
func (p *partialTemplate) OldGroups(ctx context.Context, a Action) error  { return p.do(a) }

func TestApplyRefusesMissingMethods(t *testing.T) {
	ds, _ := scenario(t)
	p := mustPlan(t, ds)
	tmpl := &partialTemplate{}
	r, err := ds.Apply(context.Background(), p, Methods(tmpl))
	require.Nil(t, r)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	require.Equal(t, []string{
		"no method AddTagsToUsers for 1 add_tags_to_users actions (pass dss.AllowPartial() to skip them)",
		"no method NewGroups for 1 new_groups actions (pass dss.AllowPartial() to skip them)",
		"no method RemoveMembersFromGroups for 1 remove_members_from_groups actions (pass dss.AllowPartial() to skip them)",
		"no method RemoveTagsFromUsers for 1 remove_tags_from_users actions (pass dss.AllowPartial() to skip them)",
	}, te.Problems)
	require.Contains(t, err.Error(), "nothing applied")
	require.Zero(t, tmpl.calls)

	// The refusal spends nothing: the same plan applies with the opt-in.
	r, err = ds.Apply(context.Background(), p, Methods(tmpl), AllowPartial())
	require.NoError(t, err)
	require.Equal(t, 4, r.Applied)
	require.Equal(t, map[string]int{
		"new_groups": 1, "add_tags_to_users": 1, "remove_tags_from_users": 1, "remove_members_from_groups": 1,
	}, r.NotImplemented)
}

// A Template of the program's own that says what it implements is refused
// the same way.
type ownTemplate struct{ n int }

func (o *ownTemplate) Apply(ctx context.Context, batch []Action) error { o.n += len(batch); return nil }
func (o *ownTemplate) Implements(name string) bool                     { return name != "old_users" }

func TestApplyImplementer(t *testing.T) {
	ds, _ := scenario(t)
	tmpl := &ownTemplate{}
	_, err := ds.Apply(context.Background(), mustPlan(t, ds), tmpl)
	require.ErrorContains(t, err, "dss: template *dss.ownTemplate: no method OldUsers for 1 old_users actions")
	require.Zero(t, tmpl.n)
}

func TestApplyReport(t *testing.T) {
	boom := errors.New("boom")
	ds, _ := scenario(t)
	tmpl := &partialTemplate{fail: map[string]error{"update_name": boom}, panic: "old_groups"}
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(tmpl), AllowPartial())
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, `dss: apply source to dest: 2 of 8 actions failed, the first: dss: update_name(idnumber='1', attr="name", value="A B"): boom`)
	require.Equal(t, 8, r.Attempted)
	require.Equal(t, 2, r.Applied) // new_users, old_users
	require.Len(t, r.Failed, 2)
	require.ErrorIs(t, r.Failed[1].Err, ErrPanic)
	require.Equal(t, "old_groups", r.Failed[1].Action.Name)
	require.Empty(t, r.NotApplied())
	require.Contains(t, r.String(), "2 of 8 actions applied, 2 failed")
	require.Contains(t, r.String(), "not implemented: add_tags_to_users (1)")
}

func TestApplyStopOnError(t *testing.T) {
	boom := errors.New("boom")
	ds, _ := scenario(t)
	tmpl := &partialTemplate{fail: map[string]error{"update_name": boom}}
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(tmpl), StopOnError(), AllowPartial())
	require.ErrorIs(t, err, boom)
	require.Equal(t, 3, r.Attempted) // new_users, new_groups (not implemented), update_name
	require.Equal(t, 2, tmpl.calls)
	require.Len(t, r.NotApplied(), 5)
}

func TestApplyCancelStopsBetweenActions(t *testing.T) {
	ds, _ := scenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmpl := &partialTemplate{after: cancel}
	r, err := ds.Apply(ctx, mustPlan(t, ds), Methods(tmpl), AllowPartial())
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, tmpl.calls)
	require.Equal(t, 1, r.Applied)
	require.Equal(t, 1, r.Attempted)
	require.Len(t, r.NotApplied(), 7)
	require.Equal(t, "new_groups", r.NotApplied()[0].Name)
}

// TestApplyBatches: a Template gets each run of consecutive actions of one
// name in one call, and a *BatchError says exactly where a batch stopped.
func TestApplyBatches(t *testing.T) {
	ds, _ := newDatastore(t,
		[]Record{{"idnumber": "1"}, {"idnumber": "2"}, {"idnumber": "3"}, {"idnumber": "4", "email": "e"}},
		[]Record{{"idnumber": "4"}}, nil)
	boom := errors.New("duplicate key")
	var calls [][]string
	tmpl := TemplateFunc(func(ctx context.Context, batch []Action) error {
		var ids []string
		for _, a := range batch {
			ids = append(ids, a.Name+":"+a.ID)
		}
		calls = append(calls, ids)
		if batch[0].Name == "new_users" && len(batch) == 3 {
			return &BatchError{Index: 1, Err: boom} // the second user fails
		}
		return nil
	})
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), tmpl)
	require.ErrorIs(t, err, boom)
	require.Equal(t, [][]string{
		{"new_users:1", "new_users:2", "new_users:3"},
		{"new_users:3"}, // Apply goes on after the failed action
		{"update_email:4"},
	}, calls)
	require.Equal(t, 3, r.Applied)
	require.Equal(t, 4, r.Attempted)
	require.Len(t, r.Failed, 1)
	require.Equal(t, "2", r.Failed[0].Action.ID)

	// An error that does not say where fails the whole batch.
	ds, _ = newDatastore(t, []Record{{"idnumber": "1"}, {"idnumber": "2"}}, nil, nil)
	r, err = ds.Apply(context.Background(), mustPlan(t, ds), TemplateFunc(func(ctx context.Context, batch []Action) error {
		return boom
	}))
	require.ErrorIs(t, err, boom)
	require.Zero(t, r.Applied)
	require.Len(t, r.Failed, 2)
}

func TestApplyRedactsValues(t *testing.T) {
	ds, _ := scenario(t)
	ds.Source.RedactValues = true
	require.NoError(t, ds.Import(context.Background()))
	r, err := ds.Apply(context.Background(), mustPlan(t, ds),
		Methods(&partialTemplate{fail: map[string]error{"update_name": errors.New("boom")}}), AllowPartial())
	require.EqualError(t, err, `dss: apply source to dest: 1 of 8 actions failed, the first: dss: update_name(idnumber='1', attr="name", value=[redacted]): boom`)
	require.NotContains(t, r.String(), "A B")
}

func TestApplyBadTemplates(t *testing.T) {
	for _, tt := range []struct {
		name string
		tmpl Template
		want string
	}{
		{"nil", nil, "dss: apply source to dest: the template is nil; nothing applied"},
		{"nil value", Methods(nil), "dss: template nil: template is nil; nothing applied"},
		{"not a struct", Methods(42), "dss: template int: int is not a struct or a pointer to one; nothing applied"},
		{"nil pointer", Methods((*fakeTemplate)(nil)), "dss: template *dss.fakeTemplate: template is a nil pointer; nothing applied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, m := scenario(t)
			p := mustPlan(t, ds)
			r, err := ds.Apply(context.Background(), p, tt.tmpl)
			require.Nil(t, r)
			require.EqualError(t, err, tt.want)
			require.Empty(t, m.calls)
			// Nothing was spent: the plan still applies.
			_, err = ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
			require.NoError(t, err)
		})
	}
}
