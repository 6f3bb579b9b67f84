package dsstest_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsstest"
)

// Skipped has a field that dss ignores, tagged "-".
type Skipped struct {
	Users *dss.Branch[string, User]
	Notes *dss.Branch[string, Group] `dss:"-"`
}

func TestImport(t *testing.T) {
	tree := dss.NewTree[School]("source")
	// The program's own configuration stays: Preprocess sees the test's records.
	tree.Branches.Users.Preprocess = func(r dss.Record) error {
		r["name"] = strings.ToUpper(r["name"].(string))
		return nil
	}
	f := run(t, func(tb testing.TB) {
		dsstest.Import(tb, tree, dsstest.Records{
			"users": {{"idnumber": "2", "name": "Grace"}, {"idnumber": "1", "name": "Ada"}},
		})
	})
	f.passed(t)
	var got []string
	for id, u := range tree.Branches.Users.All() {
		got = append(got, id+"="+u.Name)
	}
	if want := []string{"1=ADA", "2=GRACE"}; !slices.Equal(got, want) {
		t.Errorf("users = %q, want %q", got, want)
	}
	if n := tree.Branches.Groups.Len(); n != 0 {
		t.Errorf("groups, which had no importer, hold %d objects", n)
	}

	// Importing again re-runs the importers Import set.
	if err := tree.Import(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tree.Branches.Users.Len(); n != 2 {
		t.Errorf("after a second import, users hold %d objects, want 2", n)
	}
}

func TestImportKeepsUnnamedImporters(t *testing.T) {
	tree := dss.NewTree[School]("source")
	tree.Branches.Groups.Importer = dss.Records(dss.Record{"idnumber": "staff", "members": "1"})
	tree.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "9", "name": "replaced"})
	run(t, func(tb testing.TB) {
		dsstest.Import(tb, tree, dsstest.Records{"users": nil})
	}).passed(t)
	if n := tree.Branches.Users.Len(); n != 0 {
		t.Errorf("users, named with no records, hold %d objects", n)
	}
	if _, ok := tree.Branches.Groups.Get("staff"); !ok {
		t.Error("groups, not named, lost their importer")
	}
}

func TestImportSkipsDashFields(t *testing.T) {
	tree := dss.NewTree[Skipped]("source")
	run(t, func(tb testing.TB) {
		dsstest.Import(tb, tree, dsstest.Records{"users": {{"idnumber": "1"}}})
	}).passed(t)
	f := run(t, func(tb testing.TB) {
		dsstest.Import(tb, tree, dsstest.Records{"notes": nil})
	})
	f.failed(t, true, `no branch "notes"`, "the tree has users)")
}

func TestImportFails(t *testing.T) {
	tests := []struct {
		name string
		recs dsstest.Records
		want []string
	}{
		{"an unknown branch is named, with the branches there are",
			dsstest.Records{"users": nil, "user": nil},
			[]string{"dsstest: import source:", `no branch "user"`, "(the tree has users, groups)"}},
		{"a bad record fails the import, with dss's error",
			dsstest.Records{"users": {{"name": "no idnumber"}}},
			[]string{"dsstest: import source: dss: source.users: record 1", "idnumber"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := dss.NewTree[School]("source")
			f := run(t, func(tb testing.TB) { dsstest.Import(tb, tree, tt.recs) })
			f.failed(t, true, tt.want...)
		})
	}
}
