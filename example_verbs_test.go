package dss_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/datastoresync/dss"
)

// Person is an object that completes itself: the export gives
// "Last, First", the application wants "First Last".
type Person struct {
	IDNumber  string `dss:"idnumber"`
	LastFirst string `dss:"_lastfirst"` // "Lovelace, Ada": imported, not synced
	Name      string `dss:"name"`       // "Ada Lovelace": synced
}

func (u *Person) Derive() error {
	last, first, ok := strings.Cut(u.LastFirst, ", ")
	if !ok {
		return fmt.Errorf("%q is not \"Last, First\"", u.LastFirst)
	}
	u.Name = first + " " + last
	return nil
}

type People struct {
	Users *dss.Branch[string, Person]
}

func ExampleDeriver() {
	tree := dss.NewTree[People]("source")
	tree.Branches.Users.Importer = dss.Records(
		dss.Record{"idnumber": "1", "_lastfirst": "Lovelace, Ada"},
		dss.Record{"idnumber": "2", "_lastfirst": "Hopper Grace"},
	)
	err := tree.Import(context.Background())
	fmt.Println(err)
	u, _ := tree.Branches.Users.Get("1")
	fmt.Println(u.Name)
	// Output:
	// dss: source.users: record 2: idnumber '2': derive: "Hopper Grace" is not "Last, First"
	// Ada Lovelace
}

func ExampleTree_Diff() {
	ctx := context.Background()
	source, dest := dss.NewTree[School]("source"), dss.NewTree[School]("dest")
	source.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "1", "name": "Ada"}, dss.Record{"idnumber": "2", "name": "Grace"})
	source.Branches.Groups.Importer = dss.Records(dss.Record{"idnumber": "staff", "members": []string{"1", "2"}})
	dest.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "1", "name": "Ada L."}, dss.Record{"idnumber": "3", "name": "Alan"})
	dest.Branches.Groups.Importer = dss.Records(dss.Record{"idnumber": "staff", "members": []string{"1", "3"}})
	if err := source.Import(ctx); err != nil {
		panic(err)
	}
	if err := dest.Import(ctx); err != nil {
		panic(err)
	}
	for a := range source.Diff(dest) {
		fmt.Printf("%-6s %v\n", a.Kind, a)
	}
	// Output:
	// new    new_users(idnumber='2')
	// update update_name(idnumber='1', attr="name", value="Ada")
	// add    add_members_to_groups(idnumber='staff', attr="members", value="2")
	// remove remove_members_from_groups(idnumber='staff', attr="members", value="3")
	// old    old_users(idnumber='3')
}

func ExampleDiffObjects() {
	u1 := &User{IDNumber: "11111", Name: "Old Name"}
	u2 := &User{IDNumber: "11111", Name: "New Name"}
	for a := range dss.DiffObjects("users", u1, u2) {
		fmt.Println(a)
	}
	// Output:
	// update_name(idnumber='11111', attr="name", value="Old Name")
}

// A plan saved for review and applied by a later run, only if the
// destination is still what the plan was made against.
func ExampleDatastore_Apply_savedPlan() {
	ctx := context.Background()
	ds := dss.New[School, School]()
	ds.Source.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "1", "name": "Ada"})
	ds.Source.Branches.Groups.Importer = dss.Records()
	ds.Dest.Branches.Users.Importer = dss.Records()
	ds.Dest.Branches.Groups.Importer = dss.Records()
	if err := ds.Import(ctx); err != nil {
		panic(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		panic(err)
	}
	data, err := json.Marshal(plan) // refused if the plan is refused, stale or spent
	if err != nil {
		panic(err)
	}

	// A later run reads the reviewed plan back, imports the destination
	// again, and applies the plan.
	var saved dss.Plan
	if err := json.Unmarshal(data, &saved); err != nil {
		panic(err)
	}
	later := dss.New[School, School]()
	later.Dest.Branches.Users.Importer = dss.Records()
	later.Dest.Branches.Groups.Importer = dss.Records()
	if err := later.ImportDest(ctx); err != nil {
		panic(err)
	}
	report, err := later.Apply(ctx, &saved, dss.Methods(Accounts{}))
	fmt.Println(report, err)
	_, err = later.Apply(ctx, &saved, dss.Methods(Accounts{}))
	fmt.Println(err)
	// Output:
	// create account 1 (Ada)
	// 1 of 1 actions applied, 0 failed <nil>
	// dss: apply source to dest: the plan was applied already; nothing applied
}

// A dry run prints the plan with the guards' verdict: the same one the real
// run would give.
func ExamplePlan_Refusal() {
	ctx := context.Background()
	ds := dss.New[School, School]()
	ds.Source.Branches.Users.Importer = dss.Records() // a truncated export
	ds.Source.Branches.Groups.Importer = dss.Records()
	ds.Dest.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "1", "name": "Ada"})
	ds.Dest.Branches.Groups.Importer = dss.Records()
	if err := ds.Import(ctx); err != nil {
		panic(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		panic(err)
	}
	plan.Print(os.Stdout)
	_, err = ds.Apply(ctx, plan, dss.Methods(Accounts{}))
	fmt.Println(err == plan.Refusal())
	// Output:
	// old_users(idnumber='1')
	//
	// branch  created  updated  deleted  unchanged
	// users         0        0        1          0
	// groups        0        0        0          0
	// refused: dss: dest.users: refused by the branch's guard: the source branch is empty and the destination holds 1 objects (set Guard.AllowEmptySource to allow it); nothing applied
	// true
}

// Users is a template whose NewUsers takes every new user of a plan in one
// call, as a bulk insert would, and whose UpdateName takes one action.
type Users struct{}

func (Users) NewUsers(ctx context.Context, batch []dss.Action) error {
	var ids []string
	for _, a := range batch {
		ids = append(ids, a.ID)
	}
	fmt.Println("insert users", ids)
	return nil
}

func (Users) UpdateName(ctx context.Context, a dss.Action) error {
	fmt.Println("rename", a.ID)
	return nil
}

func ExampleMethods() {
	ctx := context.Background()
	ds := dss.New[School, School]()
	ds.Source.Branches.Users.Importer = dss.Records(
		dss.Record{"idnumber": "1", "name": "Ada"},
		dss.Record{"idnumber": "2", "name": "Alan"},
		dss.Record{"idnumber": "3", "name": "Grace"},
	)
	ds.Source.Branches.Groups.Importer = dss.Records()
	ds.Dest.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "3", "name": "Hopper"})
	ds.Dest.Branches.Groups.Importer = dss.Records()
	if err := ds.Import(ctx); err != nil {
		panic(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		panic(err)
	}
	report, err := ds.Apply(ctx, plan, dss.Methods(Users{}))
	fmt.Println(report, err)
	// Output:
	// insert users [1 2]
	// rename 3
	// 3 of 3 actions applied, 0 failed <nil>
}

func ExampleTree_SaveFile() {
	dir, _ := os.MkdirTemp("", "dss")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "source.jsonl")

	source := dss.NewTree[School]("source")
	source.Branches.Users.Put(User{IDNumber: "1", Name: "Ada", Department: "staff"})
	if err := source.SaveFile(path); err != nil {
		panic(err)
	}
	text, _ := os.ReadFile(path)
	fmt.Print(string(text))

	again := dss.NewTree[School]("source")
	if err := again.LoadFile(path); err != nil {
		panic(err)
	}
	u, _ := again.Branches.Users.Get("1")
	fmt.Println(u.Name, u.Department)
	// Output:
	// {"dss":"tree","version":1,"tree":"source"}
	// {"branch":"users","object":{"_department":"staff","idnumber":"1","name":"Ada"}}
	// Ada staff
}

// account is a row of an application's accounts table, which suspends
// accounts instead of deleting them.
type account struct {
	name      string
	suspended bool
}

// softDelete is a template that suspends an account where the plan says
// old_users, and lifts the suspension of an account that comes back.
type softDelete struct{ rows map[string]*account }

func (t softDelete) NewUsers(ctx context.Context, a dss.Action) error {
	u := a.Source.(*User)
	if row, ok := t.rows[u.IDNumber]; ok { // a suspended account returns
		row.suspended, row.name = false, u.Name
		fmt.Println("unsuspend", u.IDNumber)
		return nil
	}
	t.rows[u.IDNumber] = &account{name: u.Name}
	fmt.Println("create", u.IDNumber)
	return nil
}

func (t softDelete) OldUsers(ctx context.Context, a dss.Action) error {
	t.rows[a.ID].suspended = true
	fmt.Println("suspend", a.ID)
	return nil
}

// Soft deletes: an application that suspends accounts instead of deleting
// them. The destination imports only the accounts that are not suspended,
// so a suspended account is gone as far as the plan is concerned: old_users
// suspends it once, and new_users lifts the suspension when the user comes
// back. (To keep what only the destination has, with no old_ actions at
// all, set the destination branch's KeepUnmatched instead.)
func ExampleTemplate_softDelete() {
	ctx := context.Background()
	rows := map[string]*account{"1": {name: "Ada"}, "2": {name: "Alan"}, "3": {name: "Grace", suspended: true}}
	ds := dss.New[School, School]()
	ds.Source.Branches.Users.Importer = dss.Records(
		dss.Record{"idnumber": "1", "name": "Ada"},
		dss.Record{"idnumber": "3", "name": "Grace"},
	)
	ds.Source.Branches.Groups.Importer = dss.Records()
	ds.Dest.Branches.Users.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		for id, row := range rows {
			if !row.suspended {
				if err := yield(dss.Record{"idnumber": id, "name": row.name}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	ds.Dest.Branches.Groups.Importer = dss.Records()
	for range 2 {
		if err := ds.Import(ctx); err != nil {
			panic(err)
		}
		plan, err := ds.Plan()
		if err != nil {
			panic(err)
		}
		report, err := ds.Apply(ctx, plan, dss.Methods(softDelete{rows}))
		fmt.Println(report, err)
	}
	// Output:
	// unsuspend 3
	// suspend 2
	// 2 of 2 actions applied, 0 failed <nil>
	// 0 of 0 actions applied, 0 failed <nil>
}

// groupsTable stands for a table mapping such as dsssql's: a Template that
// serves one branch and says which actions it implements.
type groupsTable struct{}

func (groupsTable) Branch() string { return "groups" }
func (groupsTable) Implements(name string) bool {
	return name == "new_groups" || name == "add_members_to_groups"
}
func (groupsTable) Apply(ctx context.Context, batch []dss.Action) error {
	fmt.Printf("groups table: %d %s\n", len(batch), batch[0].Name)
	return nil
}

// Combine makes one template of a table for the groups and the program's
// own methods for the users.
func ExampleCombine() {
	ctx := context.Background()
	ds := dss.New[School, School]()
	ds.Source.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "1", "name": "Ada"})
	ds.Source.Branches.Groups.Importer = dss.Records(
		dss.Record{"idnumber": "staff", "members": []string{"1"}},
		dss.Record{"idnumber": "tutors"},
	)
	ds.Dest.Branches.Users.Importer = dss.Records()
	ds.Dest.Branches.Groups.Importer = dss.Records(dss.Record{"idnumber": "staff"})
	if err := ds.Import(ctx); err != nil {
		panic(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		panic(err)
	}
	report, err := ds.Apply(ctx, plan, dss.Combine(groupsTable{}, dss.Methods(Users{})))
	fmt.Println(report, err)
	// Output:
	// insert users [1]
	// groups table: 1 new_groups
	// groups table: 1 add_members_to_groups
	// 3 of 3 actions applied, 0 failed <nil>
}

// A program that can read its source again applies a saved plan only if
// the source and the destination make exactly it now: the plan file is
// trusted for nothing, so an edited file is refused.
func ExampleDatastore_Replan() {
	ctx := context.Background()
	newRun := func() *dss.Datastore[School, School] {
		ds := dss.New[School, School]()
		ds.Source.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "1", "name": "Ada"})
		ds.Source.Branches.Groups.Importer = dss.Records()
		ds.Dest.Branches.Users.Importer = dss.Records()
		ds.Dest.Branches.Groups.Importer = dss.Records()
		if err := ds.Import(ctx); err != nil {
			panic(err)
		}
		return ds
	}
	plan, err := newRun().Plan()
	if err != nil {
		panic(err)
	}
	data, err := json.Marshal(plan)
	if err != nil {
		panic(err)
	}
	edited := strings.Replace(string(data), `"name":"Ada"`, `"name":"Eve"`, 1)

	for _, file := range []string{string(data), edited} {
		var saved dss.Plan
		if err := json.Unmarshal([]byte(file), &saved); err != nil {
			panic(err)
		}
		later := newRun()                 // imports the source and the destination again
		plan, err := later.Replan(&saved) // the plan they make now, if it is the saved one
		if err != nil {
			fmt.Println(err)
			continue
		}
		report, err := later.Apply(ctx, plan, dss.Methods(Accounts{}))
		fmt.Println(report, err)
	}
	// Output:
	// create account 1 (Ada)
	// 1 of 1 actions applied, 0 failed <nil>
	// dss: replan source to dest: the saved plan is not the plan the trees make now: action 1: the saved plan has new_users(idnumber='1'), the trees make new_users(idnumber='1') (they differ in the destination value or the source object they carry); nothing applied
}

// A program that applies a saved plan without its source authenticates
// it: the plan is tagged with a key when it is saved, and a file changed
// since is refused.
func ExampleDatastore_Apply_planKeys() {
	ctx := context.Background()
	// A real program reads the secret from a file or a secret store:
	// at least 32 random bytes (openssl rand -hex 32).
	key := dss.PlanKey{ID: "2026-12", Secret: []byte("an example key of at least 32 bytes")}
	ds := dss.New[School, School]()
	ds.PlanKeys = []dss.PlanKey{key}
	ds.Source.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "1", "name": "Ada"})
	ds.Source.Branches.Groups.Importer = dss.Records()
	ds.Dest.Branches.Users.Importer = dss.Records()
	ds.Dest.Branches.Groups.Importer = dss.Records()
	if err := ds.Import(ctx); err != nil {
		panic(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		panic(err)
	}
	data, err := json.Marshal(plan) // with "mac": {"key": "2026-12", "hmac_sha256": ...}
	if err != nil {
		panic(err)
	}
	edited := strings.Replace(string(data), `"name":"Ada"`, `"name":"Eve"`, 1)

	for _, file := range []string{edited, string(data)} {
		var saved dss.Plan
		if err := json.Unmarshal([]byte(file), &saved); err != nil {
			panic(err)
		}
		later := dss.New[School, School]()
		later.PlanKeys = []dss.PlanKey{key}
		later.Dest.Branches.Users.Importer = dss.Records()
		later.Dest.Branches.Groups.Importer = dss.Records()
		if err := later.ImportDest(ctx); err != nil {
			panic(err)
		}
		report, err := later.Apply(ctx, &saved, dss.Methods(Accounts{}))
		fmt.Println(report, err)
	}
	// Output:
	// <nil> dss: apply source to dest: the plan is not authenticated: its tag does not verify under key "2026-12": the plan was changed after dss wrote it; nothing applied
	// create account 1 (Ada)
	// 1 of 1 actions applied, 0 failed <nil>
}
