package dss

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lossyTemplate is fakeTemplate with a destination that does not keep what
// it is given: emails are stored lower-cased, and deleted users stay.
type lossyTemplate struct{ fakeTemplate }

func (f *lossyTemplate) UpdateEmail(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) { u.Email = strings.ToLower(a.Value.(string)) })
}

func (f *lossyTemplate) OldUsers(ctx context.Context, a Action) error { return nil }

// keysImporter is a KeysImporter over an importer: it records the
// idnumbers each ImportKeys asked for, and yields only their records.
type keysImporter struct {
	Importer
	asked [][]string
	whole int
}

func (k *keysImporter) Import(ctx context.Context, yield func(Record) error) error {
	k.whole++
	return k.Importer.Import(ctx, yield)
}

func (k *keysImporter) ImportKeys(ctx context.Context, ids []string, yield func(Record) error) error {
	k.asked = append(k.asked, slices.Clone(ids))
	return k.Importer.Import(ctx, func(r Record) error {
		if slices.Contains(ids, r[IDKey].(string)) {
			return yield(r)
		}
		return nil
	})
}

func TestVerifyKeptChanges(t *testing.T) {
	ds, m := scenario(t)
	users := &keysImporter{Importer: ds.Dest.Branches.Users.Importer}
	ds.Dest.Branches.Users.Importer = users
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	require.NoError(t, ds.Verify(context.Background(), r))
	// Users 2 (new), 1 (renamed, tags) and 9 (deleted) were touched; only
	// they were read back, in plan order, and the branch was not read whole.
	require.Equal(t, [][]string{{"2", "1", "9"}}, users.asked)
	require.Equal(t, 0, users.whole)
	// The destination holds some objects only: no plan from it.
	_, err = ds.Plan()
	require.ErrorIs(t, err, ErrNotImported)
	require.NoError(t, ds.ImportDest(context.Background()))
	require.Empty(t, planMessages(mustPlan(t, ds)))
}

func TestVerifyNotKept(t *testing.T) {
	for _, redact := range []bool{false, true} {
		ds, m := newDatastore(t,
			[]Record{{"idnumber": "1", "_lastfirst": "B, A", "email": "A@X.example"}},
			[]Record{{"idnumber": "1", "_first": "A", "_last": "B", "email": "old@x.example"}, {"idnumber": "9", "_first": "Z", "_last": "Z"}},
			nil)
		ds.Dest.RedactValues = redact
		require.NoError(t, ds.ImportDest(context.Background()))
		r, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(&lossyTemplate{fakeTemplate{m}}))
		require.NoError(t, err)
		err = ds.Verify(context.Background(), r)
		require.ErrorIs(t, err, ErrNotKept)
		msg := err.Error()
		require.Contains(t, msg, "after 2 actions were applied, 2 differences are left")
		require.Contains(t, msg, `update_email(idnumber='1'`)
		if redact {
			require.NotContains(t, msg, "a@x.example")
			require.NotContains(t, msg, "A@X.example")
		} else {
			require.Contains(t, msg, `value="A@X.example"`)
			require.Contains(t, msg, `(the destination holds "a@x.example")`)
		}
	}
}

func TestVerifyDeleteNotKept(t *testing.T) {
	ds, m := newDatastore(t, nil,
		[]Record{{"idnumber": "9", "_first": "Z", "_last": "Z"}}, nil)
	ds.Dest.Branches.Users.Guard = Guard{AllowEmptySource: true}
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(&lossyTemplate{fakeTemplate{m}}))
	require.NoError(t, err)
	err = ds.Verify(context.Background(), r)
	require.ErrorIs(t, err, ErrNotKept)
	require.Contains(t, err.Error(), "the first: old_users(idnumber='9')")
}

func TestVerifySkipsFailedObjects(t *testing.T) {
	// User 2's creation fails: its object is not checked, and the objects
	// the plan did change are.
	ds, m := scenario(t)
	m.users["2"] = dstUser{ID: "2"} // created behind the plan's back: new_users fails
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(&fakeTemplate{m}))
	require.Error(t, err)
	require.Len(t, r.Failed, 1)
	require.NoError(t, ds.Verify(context.Background(), r))
}

func TestVerifyNeedsItsReport(t *testing.T) {
	ds, m := scenario(t)
	other, _ := scenario(t)
	r, err := other.Apply(context.Background(), mustPlan(t, other), Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	for _, r := range []*Report{nil, {}, r} {
		err := ds.Verify(context.Background(), r)
		require.ErrorContains(t, err, "the report is not one of this datastore's Apply")
		require.False(t, errors.Is(err, ErrNotKept))
	}
}

func TestVerifySkipsUnreachedObjects(t *testing.T) {
	// Apply stops after user 1's rename: its tag changes were not reached,
	// so user 1 is not checked; user 2 and group y, created before, are.
	ds, m := scenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeTemplate{m}
	tmpl := TemplateFunc(func(c context.Context, batch []Action) error {
		for _, a := range batch {
			switch a.Name {
			case "new_users":
				require.NoError(t, f.NewUsers(c, a))
			case "new_groups":
				require.NoError(t, f.NewGroups(c, []Action{a}))
			case "update_name":
				cancel()
				require.NoError(t, f.UpdateName(c, a))
			default:
				t.Fatalf("%s was reached", a.Name)
			}
		}
		return nil
	})
	r, err := ds.Apply(ctx, mustPlan(t, ds), tmpl)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 3, r.Applied)
	require.NoError(t, ds.Verify(context.Background(), r))

}

// TestVerifyWholeOrByKey checks when Verify reads a KeysImporter's branch
// back by idnumber and when it imports it whole: by key up to 100
// touched objects or an eighth of the branch, whole beyond both.
func TestVerifyWholeOrByKey(t *testing.T) {
	for _, tc := range []struct {
		name           string
		users, changed int
		byKey          bool
	}{
		{"initial load of 2,000", 2000, 2000, false},
		{"initial load of 90", 90, 90, true},
		{"150 changed of 1,000", 1000, 150, false},
		{"1,100 changed of 10,000", 10000, 1100, true},
		{"2,000 changed of 10,000", 10000, 2000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var src, dst []Record
			for i := range tc.users {
				id := strconv.Itoa(i)
				src = append(src, Record{"idnumber": id, "_lastfirst": "L, F", "department": "x"})
				if tc.changed < tc.users {
					last := "L"
					if i < tc.changed {
						last = "Old"
					}
					dst = append(dst, Record{"idnumber": id, "_first": "F", "_last": last, "department": "x"})
				}
			}
			ds, m := newDatastore(t, src, dst, nil)
			users := &keysImporter{Importer: ds.Dest.Branches.Users.Importer}
			ds.Dest.Branches.Users.Importer = users
			p := mustPlan(t, ds)
			users.whole = 0
			r, err := ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
			require.NoError(t, err)
			require.NoError(t, ds.Verify(context.Background(), r))
			if tc.byKey {
				require.Len(t, users.asked, 1)
				require.Len(t, users.asked[0], tc.changed)
				require.Equal(t, 0, users.whole)
			} else {
				require.Empty(t, users.asked)
				require.Equal(t, 1, users.whole)
			}
		})
	}
}
