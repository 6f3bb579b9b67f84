package dss

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeepUnmatched: a destination branch that keeps what only it has gets
// creations and updates, never deletions, and an empty source is no reason
// to refuse.
func TestKeepUnmatched(t *testing.T) {
	ds, m := newDatastore(t,
		[]Record{{"idnumber": "1", "email": "new@x"}, {"idnumber": "2"}},
		[]Record{{"idnumber": "1", "email": "old@x"}, {"idnumber": "admin"}, {"idnumber": "manual"}},
		nil)
	ds.Dest.Branches.Users.KeepUnmatched = true
	p := mustPlan(t, ds)
	require.Equal(t, []string{
		"new_users(idnumber='2')",
		`update_email(idnumber='1', attr="email", value="new@x")`,
	}, planMessages(p))
	require.Equal(t, 0, p.Summary.Branches[0].Deleted)

	// Through a saved plan as well.
	saved := savePlan(t, p)
	_, err := ds.Apply(context.Background(), saved, Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	require.Contains(t, m.users, "admin")
	require.NoError(t, ds.ImportDest(context.Background()))
	require.Empty(t, mustPlan(t, ds).Actions)

	// An empty source deletes nothing here, so it is not refused.
	ds.Source.Branches.Users.Importer = Records()
	require.NoError(t, ds.Import(context.Background()))
	p, err = ds.Plan()
	require.NoError(t, err)
	require.NoError(t, p.Refusal())
	require.Empty(t, p.Actions)

	// A deletion added to the plan is refused.
	u, _ := ds.Dest.Branches.Users.Get("admin")
	p.Actions = append(p.Actions, Action{Kind: KindOld, Name: "old_users", Branch: "users", ID: "admin", Dest: u})
	_, err = ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	require.ErrorContains(t, err, "branch users keeps what only the destination has (KeepUnmatched)")
	require.Contains(t, m.users, "admin")
}
