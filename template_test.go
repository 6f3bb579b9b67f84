package dss

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

type wrongTemplate struct{}

func (wrongTemplate) UpdateName(a Action) error                              { return nil } // no context
func (wrongTemplate) NewUsers(ctx context.Context, a Action)                 {}             // no error
func (wrongTemplate) UpdateNmae(ctx context.Context, a Action) error         { return nil } // a typo
func (wrongTemplate) Helper(x int) int                                       { return x }   // not an action: fine
func (wrongTemplate) OldGroups(ctx context.Context, a *Action) error         { return nil } // pointer
func (wrongTemplate) AddMembersToGroups(ctx context.Context, a Action) error { return nil }

type pointerTemplate struct{}

func (*pointerTemplate) NewUsers(ctx context.Context, a Action) error { return nil }

// resolveFor resolves a Methods template for the destination tree, as Apply
// does before the first action.
func resolveFor(d *Tree[dstTree], v any) error {
	_, err := Methods(v).(*methods).resolve(&d.t)
	return err
}

func TestMethodsListsEveryProblem(t *testing.T) {
	dst := NewTree[dstTree]("dest")
	err := resolveFor(dst, wrongTemplate{})
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "dss.wrongTemplate", te.Type)
	require.Equal(t, []string{
		"method NewUsers for new_users has type func(dss.wrongTemplate, context.Context, dss.Action), " + wantSignature,
		"method OldGroups for old_groups has type func(dss.wrongTemplate, context.Context, *dss.Action) error, " + wantSignature,
		"method UpdateName for update_name has type func(dss.wrongTemplate, dss.Action) error, " + wantSignature,
		"method UpdateNmae matches no action of tree dest (did you mean one of UpdateName, UpdateAge, UpdateEmail?)",
	}, te.Problems)

	err = resolveFor(dst, pointerTemplate{})
	require.ErrorContains(t, err, "method NewUsers has a pointer receiver: pass a *dss.pointerTemplate")
	require.NoError(t, resolveFor(dst, &pointerTemplate{}))
	require.ErrorContains(t, resolveFor(dst, nil), "template is nil")
}

type batchTemplate struct{}

func (batchTemplate) NewUsers(ctx context.Context, batch []Action) error { return nil }
func (batchTemplate) OldUser(ctx context.Context, batch []Action) error  { return nil } // a typo

func TestMethodsTakeBatches(t *testing.T) {
	dst := NewTree[dstTree]("dest")
	err := resolveFor(dst, batchTemplate{})
	require.EqualError(t, err, "dss: template dss.batchTemplate: method OldUser matches no action of tree dest (did you mean one of OldUsers, NewUsers, OldGroups?); nothing applied")
}

func TestTemplateMethodNames(t *testing.T) {
	dst := NewTree[dstTree]("dest")
	names := dst.t.actionNames()
	for method, action := range map[string]string{
		"NewUsers":                "new_users",
		"OldGroups":               "old_groups",
		"UpdateName":              "update_name",
		"AddMembersToGroups":      "add_members_to_groups",
		"RemoveMembersFromGroups": "remove_members_from_groups",
		"AddTagsToUsers":          "add_tags_to_users",
	} {
		require.Equal(t, action, names[method], method)
	}
	_, ok := names["UpdateFirst"]
	require.False(t, ok, "private keys get no action")
	require.Equal(t, "first_name", snakeCase("FirstName"))
	require.Equal(t, "id_number", snakeCase("IDNumber"))
	require.Equal(t, "http_server2", snakeCase("HTTPServer2"))
	require.Equal(t, "GroupMembers", camelCase("group_members"))
}
