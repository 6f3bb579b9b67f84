package dss

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func scenario(t *testing.T) (*Tree[srcTree], *Tree[dstTree]) {
	t.Helper()
	src := newSource(t,
		Record{"idnumber": "1", "_lastfirst": "B, A", "department": "x", "tags": []string{"t"}},
		Record{"idnumber": "2", "_lastfirst": "D, C", "department": "y", "age": 3},
	)
	dst := newDest(t,
		[]Record{
			{"idnumber": "1", "_first": "A", "_last": "Old", "department": "x", "tags": []string{"u"}},
			{"idnumber": "9", "_first": "Z", "_last": "Z", "department": "x"},
		},
		[]Record{{"idnumber": "x", "members": []string{"1", "9"}}, {"idnumber": "old"}},
	)
	return src, dst
}

func TestApplyConverges(t *testing.T) {
	// Semantics 10: each action goes to the template method named after it;
	// applying the plan to an in-memory destination leaves nothing to do.
	src, dst := scenario(t)
	tmpl := &fakeTemplate{dest: dst}
	require.NoError(t, dst.SetTemplate(tmpl))
	plan := messages(src.Diff(dst))
	r, err := src.Apply(context.Background(), dst)
	require.NoError(t, err)
	require.Equal(t, len(plan), r.Applied)
	require.Equal(t, len(plan), r.Attempted)
	require.Empty(t, r.Failed)
	require.Empty(t, r.NotImplemented)
	require.Equal(t, []string{
		"new_users:2", "new_groups:y",
		"update_name:1", "add_tags_to_users:1", "remove_tags_from_users:1", "remove_members_from_groups:x",
		"old_groups:old", "old_users:9",
	}, tmpl.calls)
	require.Empty(t, messages(src.Diff(dst)), "the destination did not converge")
}

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

func TestApplyReport(t *testing.T) {
	boom := errors.New("boom")
	src, dst := scenario(t)
	tmpl := &partialTemplate{fail: map[string]error{"update_name": boom}, panic: "old_groups"}
	require.NoError(t, dst.SetTemplate(tmpl))
	r, err := src.Apply(context.Background(), dst)
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, `dss: apply source to dest: 2 of 8 actions failed, the first: dss: update_name(idnumber='1', attr="name", value="A B"): boom`)
	require.Equal(t, 8, r.Attempted)
	require.Equal(t, 2, r.Applied) // new_users, old_users
	require.Len(t, r.Failed, 2)
	require.ErrorIs(t, r.Failed[1].Err, ErrPanic)
	require.Equal(t, "old_groups", r.Failed[1].Action.Name)
	require.Equal(t, map[string]int{
		"new_groups": 1, "add_tags_to_users": 1, "remove_tags_from_users": 1, "remove_members_from_groups": 1,
	}, r.NotImplemented)
	require.Empty(t, r.NotApplied())
	require.Contains(t, r.String(), "2 of 8 actions applied, 2 failed")
	require.Contains(t, r.String(), "not implemented: add_tags_to_users (1)")
}

func TestApplyStopOnError(t *testing.T) {
	boom := errors.New("boom")
	src, dst := scenario(t)
	tmpl := &partialTemplate{fail: map[string]error{"update_name": boom}}
	require.NoError(t, dst.SetTemplate(tmpl))
	r, err := src.Apply(context.Background(), dst, StopOnError())
	require.ErrorIs(t, err, boom)
	require.Equal(t, 3, r.Attempted) // new_users, new_groups (not implemented), update_name
	require.Equal(t, 2, tmpl.calls)
	require.Len(t, r.NotApplied(), 5)
}

func TestApplyCancelStopsBetweenActions(t *testing.T) {
	src, dst := scenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmpl := &partialTemplate{after: cancel}
	require.NoError(t, dst.SetTemplate(tmpl))
	r, err := src.Apply(ctx, dst)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, tmpl.calls)
	require.Equal(t, 1, r.Applied)
	require.Equal(t, 1, r.Attempted)
	require.Len(t, r.NotApplied(), 7)
	require.Equal(t, "new_groups", r.NotApplied()[0].Name)
}

func TestApplyRefusesFailedImport(t *testing.T) {
	src, dst := scenario(t)
	tmpl := &partialTemplate{}
	require.NoError(t, dst.SetTemplate(tmpl))
	src.Branches.Users.Importer = Records(Record{"idnumber": "1", "age": "x"})
	require.Error(t, src.Import(context.Background()))
	r, err := src.Apply(context.Background(), dst)
	require.Nil(t, r)
	require.ErrorIs(t, err, ErrConvert)
	require.ErrorContains(t, err, "import of source failed, nothing applied")
	require.Zero(t, tmpl.calls)
}

func TestApplyNeedsTemplate(t *testing.T) {
	src, dst := scenario(t)
	_, err := src.Apply(context.Background(), dst)
	require.EqualError(t, err, "dss: apply source to dest: tree dest has no template (call SetTemplate), nothing applied")
}

func TestApplyModelErrorsFail(t *testing.T) {
	src := newSource(t, Record{"idnumber": "1"})
	dst := NewTree[badTree]("dest")
	require.NoError(t, dst.SetTemplate(&struct{}{}))
	r, err := src.Apply(context.Background(), dst, StopOnError())
	require.ErrorIs(t, err, ErrNoBranch)
	require.Equal(t, 0, r.Applied)
}

func TestApplyRedactsValues(t *testing.T) {
	src, dst := scenario(t)
	src.RedactValues = true
	require.NoError(t, dst.SetTemplate(&partialTemplate{fail: map[string]error{"update_name": errors.New("boom")}}))
	r, err := src.Apply(context.Background(), dst)
	require.EqualError(t, err, `dss: apply source to dest: 1 of 8 actions failed, the first: dss: update_name(idnumber='1', attr="name", value=[redacted]): boom`)
	require.NotContains(t, r.String(), "A B")
}
