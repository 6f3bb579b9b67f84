package dss

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// Both branches of this tree have a name, so update_name is an action of
// each: Combine must route it by branch, not by name alone.
type (
	cUser struct {
		ID   string `dss:"idnumber"`
		Name string `dss:"name"`
	}
	cGroup struct {
		ID      string   `dss:"idnumber"`
		Name    string   `dss:"name"`
		Members []string `dss:"members"`
	}
	cTree struct {
		Users  *Branch[string, cUser]
		Groups *Branch[string, cGroup]
	}
)

// tableTemplate stands for a table mapping: it serves one branch and says
// which of its actions it implements.
type tableTemplate struct {
	branch string
	names  map[string]bool
	got    []string // branch/name/id of every action applied
	fail   error
}

func (t *tableTemplate) Branch() string              { return t.branch }
func (t *tableTemplate) Implements(name string) bool { return t.names[name] }
func (t *tableTemplate) Apply(ctx context.Context, batch []Action) error {
	for _, a := range batch {
		if a.Branch != t.branch || !t.names[a.Name] {
			return errors.New("given an action it does not handle: " + a.Branch + "/" + a.Name)
		}
		t.got = append(t.got, a.Branch+"/"+a.Name+"/"+a.ID)
	}
	return t.fail
}

// ownMembers is the program's own code for what the tables leave out.
type ownMembers struct{ got []string }

func (o *ownMembers) AddMembersToGroups(ctx context.Context, batch []Action) error {
	for _, a := range batch {
		o.got = append(o.got, a.Name+"/"+a.ID+"/"+a.Value.(string))
	}
	return nil
}

func combineScenario(t *testing.T) *Datastore[cTree, cTree] {
	t.Helper()
	ds := New[cTree, cTree]()
	ds.Source.Branches.Users.Importer = Records(
		Record{"idnumber": "u1", "name": "Ada"},
		Record{"idnumber": "u2", "name": "Bob"},
	)
	ds.Source.Branches.Groups.Importer = Records(
		Record{"idnumber": "g1", "name": "Staff", "members": []string{"u1", "u2"}},
		Record{"idnumber": "g2", "name": "New"},
	)
	ds.Dest.Branches.Users.Importer = Records(
		Record{"idnumber": "u1", "name": "Old Ada"},
		Record{"idnumber": "u3", "name": "Gone"},
	)
	ds.Dest.Branches.Groups.Importer = Records(
		Record{"idnumber": "g1", "name": "Old Staff", "members": []string{"u1"}},
	)
	require.NoError(t, ds.Import(context.Background()))
	return ds
}

func combinePlan(t *testing.T, ds *Datastore[cTree, cTree]) *Plan {
	t.Helper()
	p, err := ds.Plan()
	require.NoError(t, err)
	return p
}

func TestCombineRoutesByBranch(t *testing.T) {
	ds := combineScenario(t)
	p := combinePlan(t, ds)
	users := &tableTemplate{branch: "users", names: map[string]bool{"new_users": true, "update_name": true, "old_users": true}}
	groups := &tableTemplate{branch: "groups", names: map[string]bool{"new_groups": true, "update_name": true}}
	own := &ownMembers{}
	r, err := ds.Apply(context.Background(), p, Combine(users, groups, Methods(own)))
	require.NoError(t, err)
	require.Equal(t, len(p.Actions), r.Applied)
	require.Equal(t, []string{"users/new_users/u2", "users/update_name/u1", "users/old_users/u3"}, users.got)
	require.Equal(t, []string{"groups/new_groups/g2", "groups/update_name/g1"}, groups.got)
	require.Equal(t, []string{"add_members_to_groups/g1/u2"}, own.got)
}

func TestCombineRefusesUnhandledBeforeFirstAction(t *testing.T) {
	ds := combineScenario(t)
	p := combinePlan(t, ds)
	// Nobody takes update_name of groups: the users table implements the
	// name, but serves another branch.
	users := &tableTemplate{branch: "users", names: map[string]bool{"new_users": true, "update_name": true, "old_users": true}}
	groups := &tableTemplate{branch: "groups", names: map[string]bool{"new_groups": true}}
	_, err := ds.Apply(context.Background(), p, Combine(users, groups, Methods(&ownMembers{})))
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	require.Equal(t, []string{"no method UpdateName for 1 update_name actions (pass dss.AllowPartial() to skip them)"}, te.Problems)
	require.Contains(t, te.Type, "dss.Combine(*dss.tableTemplate, *dss.tableTemplate, *dss.ownMembers)")
	require.Empty(t, users.got)
	require.Empty(t, groups.got)

	// With AllowPartial it is counted, not applied, and the rest goes on.
	r, err := ds.Apply(context.Background(), p, Combine(users, groups, Methods(&ownMembers{})), AllowPartial())
	require.NoError(t, err)
	require.Equal(t, map[string]int{"update_name": 1}, r.NotImplemented)
	require.Equal(t, len(p.Actions)-1, r.Applied)
}

// ownTypo has a method named after no action of the tree.
type ownTypo struct{}

func (ownTypo) AddMemberToGroups(ctx context.Context, a Action) error { return nil }

func TestCombineListsEveryPartsProblems(t *testing.T) {
	ds := combineScenario(t)
	_, err := ds.Apply(context.Background(), combinePlan(t, ds), Combine(nil, Methods(ownTypo{}), Methods(42)), AllowPartial())
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	require.Len(t, te.Problems, 3)
	require.Equal(t, "template 1 of 3 is nil", te.Problems[0])
	require.Contains(t, te.Problems[1], "template 2 (dss.ownTypo): method AddMemberToGroups matches no action")
	require.Contains(t, te.Problems[2], "template 3 (int): int is not a struct")
	require.Contains(t, err.Error(), "nothing applied")
}

func TestCombineBatchErrorKeepsItsPlace(t *testing.T) {
	ds := combineScenario(t)
	boom := errors.New("boom")
	users := &tableTemplate{branch: "users", names: map[string]bool{"new_users": true, "update_name": true, "old_users": true}, fail: &BatchError{Index: 0, Err: boom}}
	r, err := ds.Apply(context.Background(), combinePlan(t, ds), Combine(users, Methods(&ownMembers{})), AllowPartial())
	require.ErrorIs(t, err, boom)
	require.Len(t, r.Failed, 3) // each users batch is one action here, and each fails
	for _, f := range r.Failed {
		require.Equal(t, "users", f.Action.Branch)
	}
}

// Apply cuts batches where the branch changes, even under one name.
func TestBatchesDoNotCrossBranches(t *testing.T) {
	ds := combineScenario(t)
	var batches [][]string
	tmpl := TemplateFunc(func(ctx context.Context, batch []Action) error {
		var b []string
		for _, a := range batch {
			b = append(b, a.Branch+"/"+a.Name)
		}
		batches = append(batches, b)
		return nil
	})
	_, err := ds.Apply(context.Background(), combinePlan(t, ds), tmpl)
	require.NoError(t, err)
	for _, b := range batches {
		for _, x := range b[1:] {
			require.Equal(t, b[0], x, "one batch, one branch and name: %v", batches)
		}
	}
	require.Contains(t, batches, []string{"users/update_name"})
	require.Contains(t, batches, []string{"groups/update_name"})
}
