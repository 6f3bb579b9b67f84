package dsstest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsstest"
)

// The objects and branches of a sync program, as in dss's own examples.
type User struct {
	IDNumber string `dss:"idnumber"`
	Name     string `dss:"name"`
}

type Group struct {
	IDNumber string   `dss:"idnumber"`
	Members  []string `dss:"members"`
}

type School struct {
	Users  *dss.Branch[string, User]
	Groups *dss.Branch[string, Group]
}

// t stands in for the *testing.T of a test, so that the examples read as
// tests do: it prints the first line of what a failing test would report.
var t testing.TB = exampleT{}

type exampleT struct{ testing.TB }

func (exampleT) Helper()                        {}
func (exampleT) Context() context.Context       { return context.Background() }
func (exampleT) Logf(format string, a ...any)   {}
func (exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (exampleT) Errorf(format string, a ...any) {
	msg, _, _ := strings.Cut(fmt.Sprintf(format, a...), "\n")
	fmt.Println("FAIL:", msg)
}

// A test of a sync: the records it starts from, the plan it must make, and
// that applying the plan leaves nothing to do.
func Example() {
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{
		"users":  {{"idnumber": "1", "name": "Ada"}, {"idnumber": "2", "name": "Grace"}},
		"groups": {{"idnumber": "staff", "members": []string{"1", "2"}}},
	})
	dsstest.Import(t, ds.Dest, dsstest.Records{
		"users":  {{"idnumber": "1", "name": "Ada L."}, {"idnumber": "3", "name": "Alan"}},
		"groups": {{"idnumber": "staff", "members": []string{"1", "3"}}},
	})
	dsstest.AssertPlan(t, dsstest.Plan(t, ds),
		`new_users(idnumber='2')`,
		`update_name(idnumber='1', attr="name", value="Ada")`,
		`add_members_to_groups(idnumber='staff', attr="members", value="2")`,
		`remove_members_from_groups(idnumber='staff', attr="members", value="3")`,
		`old_users(idnumber='3')`,
	)
	dest := dsstest.Converges(t, ds)
	fmt.Println(dest.Records())
	// Output:
	// map[groups:[map[idnumber:staff members:[1 2]]] users:[map[idnumber:1 name:Ada] map[idnumber:2 name:Grace]]]
}

// Import replaces the importers of the branches it names. Here the
// program's own importer derives groups from the users imported before
// them, and the test keeps it.
func ExampleImport() {
	ds := dss.New[School, School]()
	ds.Source.Branches.Groups.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		for id := range ds.Source.Branches.Users.Keys() {
			if err := yield(dss.Record{"idnumber": "everyone", "members": id}); err != nil {
				return err
			}
		}
		return nil
	})
	dsstest.Import(t, ds.Source, dsstest.Records{
		"users": {{"idnumber": "1", "name": "Ada"}, {"idnumber": "2", "name": "Grace"}},
	})
	g, _ := ds.Source.Branches.Groups.Get("everyone")
	fmt.Println(g.Members)
	// Output:
	// [1 2]
}

// A truncated export: the guards refuse the plan, and the refusal is its
// last line.
func ExampleAssertPlan() {
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{"users": nil})
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada"}}})
	plan := dsstest.Plan(t, ds)
	dsstest.AssertPlan(t, plan,
		`old_users(idnumber='1')`,
		`refused: dss: dest.users: refused by the branch's guard: the source branch is empty and the destination holds 1 objects (set Guard.AllowEmptySource to allow it); nothing applied`,
	)
	dsstest.AssertPlan(t, plan, `old_users(idnumber='1')`) // fails: the refusal is missing
	// Output:
	// FAIL: dsstest: the plan differs (-want +got):
}

func ExampleLines() {
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada"}}})
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada L."}}})
	for _, line := range dsstest.Lines(dsstest.Plan(t, ds)) {
		fmt.Println(line)
	}
	// Output:
	// update_name(idnumber='1', attr="name", value="Ada")
}

// Golden compares the whole printed plan with a file under testdata, which
// `go test -dsstest.update` writes.
func ExampleGolden() {
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada"}, {"idnumber": "2", "name": "Grace"}}})
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada L."}}})
	dsstest.Golden(t, dsstest.Plan(t, ds), "testdata/example.golden")

	golden, _ := os.ReadFile("testdata/example.golden")
	fmt.Print(string(golden))
	// Output:
	// new_users(idnumber='2')
	// update_name(idnumber='1', attr="name", value="Ada")
	//
	// branch  created  updated  deleted  unchanged
	// users         1        1        0          0
	// groups        0        0        0          0
}

// Contact is the source's object, Account the destination's, whose Derive
// lower-cases the e-mail address: a plan that sets "Ada@Example.org" sets
// it again on every run.
type Contact struct {
	IDNumber string `dss:"idnumber"`
	Email    string `dss:"email"`
}

type Account struct {
	IDNumber string `dss:"idnumber"`
	Email    string `dss:"email"`
}

func (a *Account) Derive() error {
	a.Email = strings.ToLower(a.Email)
	return nil
}

type Export struct {
	Users *dss.Branch[string, Contact]
}

type App struct {
	Users *dss.Branch[string, Account]
}

func ExampleConverges() {
	ds := dss.New[Export, App]()
	dsstest.Import(t, ds.Source, dsstest.Records{"users": {{"idnumber": "1", "email": "Ada@Example.org"}}})
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": nil})
	dsstest.Converges(t, ds)
	// Output:
	// FAIL: dsstest: the plan does not converge: after it was applied, the next plan is not empty (-want +got):
}

// A Memory is a destination for dss's own Apply: after it, the test can
// look at what the plan did.
func ExampleNewMemory() {
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{
		"users":  {{"idnumber": "1", "name": "Ada"}},
		"groups": {{"idnumber": "staff", "members": []string{"1"}}},
	})
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada L."}}})
	mem := dsstest.NewMemory(ds)
	report, err := ds.Apply(context.Background(), dsstest.Plan(t, ds), mem)
	fmt.Println(report, err)
	fmt.Println(mem.Records()["groups"])
	// Output:
	// 2 of 2 actions applied, 0 failed <nil>
	// [map[idnumber:staff members:[1]]]
}
