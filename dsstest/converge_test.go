package dsstest_test

import (
	"database/sql"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsstest"
	"github.com/google/go-cmp/cmp"
)

func TestConverges(t *testing.T) {
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{
		"users":  {{"idnumber": "1", "name": "Ada"}, {"idnumber": "2", "name": "Grace"}},
		"groups": {{"idnumber": "staff", "members": []string{"1", "2"}}},
	})
	dsstest.Import(t, ds.Dest, dsstest.Records{
		"users":  {{"idnumber": "1", "name": "Ada L."}, {"idnumber": "3", "name": "Alan"}},
		"groups": {{"idnumber": "staff", "members": []string{"1", "3"}}, {"idnumber": "old", "members": []string{"3"}}},
	})
	var mem *dsstest.Memory
	run(t, func(tb testing.TB) { mem = dsstest.Converges(tb, ds) }).passed(t)
	want := dsstest.Records{
		"users":  {{"idnumber": "1", "name": "Ada"}, {"idnumber": "2", "name": "Grace"}},
		"groups": {{"idnumber": "staff", "members": []string{"1", "2"}}},
	}
	if diff := cmp.Diff(want, mem.Records()); diff != "" {
		t.Errorf("the destination after the plan (-want +got):\n%s", diff)
	}
	// A second run has nothing to do, and converges too.
	run(t, func(tb testing.TB) { dsstest.Converges(tb, ds) }).passed(t)
}

func TestConvergesFails(t *testing.T) {
	t.Run("a destination whose Derive undoes the plan", func(t *testing.T) {
		ds := dss.New[Export, App]()
		dsstest.Import(t, ds.Source, dsstest.Records{"users": {{"idnumber": "1", "email": "Ada@Example.org"}, {"idnumber": "2", "email": "b@x"}}})
		dsstest.Import(t, ds.Dest, dsstest.Records{"users": {{"idnumber": "2", "email": "c@x"}}})
		f := run(t, func(tb testing.TB) { dsstest.Converges(tb, ds) })
		f.failed(t, false, "dsstest: the plan does not converge: after it was applied, the next plan is not empty (-want +got):",
			`update_email(idnumber='1', attr="email", value="Ada@Example.org")`,
			"the plan applied:\n\tnew_users(idnumber='1')\n\tupdate_email(idnumber='2', attr=\"email\", value=\"b@x\")")
	})
	t.Run("a refused plan", func(t *testing.T) {
		ds := refused(t)
		f := run(t, func(tb testing.TB) { dsstest.Converges(tb, ds) })
		f.failed(t, false, "dsstest: converges: the plan is refused: dss: dest.users: refused by the branch's guard")
	})
	t.Run("trees never imported", func(t *testing.T) {
		f := run(t, func(tb testing.TB) { dsstest.Converges(tb, dss.New[School, School]()) })
		f.failed(t, false, "dsstest: converges: dss: plan source to dest: tree source was never imported")
	})
	t.Run("a model error", func(t *testing.T) {
		ds := dss.New[School, Accounts2]()
		dsstest.Import(t, ds.Source, dsstest.Records{})
		dsstest.Import(t, ds.Dest, dsstest.Records{})
		f := run(t, func(tb testing.TB) { dsstest.Converges(tb, ds) })
		f.failed(t, false, "the plan is refused", "err_no_attr")
	})
}

// Accounts2 has users without names: the trees' models disagree.
type Accounts2 struct {
	Users  *dss.Branch[string, struct{ IDNumber string }]
	Groups *dss.Branch[string, Group]
}

// Phonebook has attributes that may be absent: a pointer and a sql.Null.
type Phonebook struct {
	IDNumber string            `dss:"idnumber"`
	Phone    *string           `dss:"phone"`
	Floor    sql.Null[int64]   `dss:"floor"`
	Left     sql.Null[float64] `dss:"left"`
}

type Directory struct {
	Contacts *dss.Branch[string, Phonebook]
}

// TestConvergesNullable: a Memory keeps every attribute dss syncs, those
// that may be absent included. It used to learn the attributes by diffing
// probe objects, which it could make only for plain kinds, so that it
// held no pointer or sql.Null attribute and failed their updates with
// "no attribute" (issue 20, point 5).
func TestConvergesNullable(t *testing.T) {
	ds := dss.New[Directory, Directory]()
	dsstest.Import(t, ds.Source, dsstest.Records{"contacts": {
		{"idnumber": "1", "phone": "+44 20", "floor": int64(3)},
		{"idnumber": "2", "phone": nil, "floor": nil, "left": 0.5},
	}})
	dsstest.Import(t, ds.Dest, dsstest.Records{"contacts": {
		{"idnumber": "1", "phone": nil, "floor": int64(2)},
		{"idnumber": "2", "phone": "+44 21"},
	}})
	var mem *dsstest.Memory
	run(t, func(tb testing.TB) { mem = dsstest.Converges(tb, ds) }).passed(t)
	phone := "+44 20"
	want := dsstest.Records{"contacts": {
		{"idnumber": "1", "phone": &phone, "floor": sql.Null[int64]{V: 3, Valid: true}, "left": sql.Null[float64]{}},
		{"idnumber": "2", "phone": (*string)(nil), "floor": sql.Null[int64]{}, "left": sql.Null[float64]{V: 0.5, Valid: true}},
	}}
	if diff := cmp.Diff(want, mem.Records()); diff != "" {
		t.Errorf("the destination after the plan (-want +got):\n%s", diff)
	}
}
