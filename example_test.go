package dss_test

import (
	"context"
	"fmt"
	"os"

	"github.com/datastoresync/dss"
)

// Define the objects: one struct per kind of object. Keys map to fields by
// tag or by name; "_" keys are imported but never synced.
type User struct {
	IDNumber   string `dss:"idnumber"`
	Name       string `dss:"name"`
	Department string `dss:"_department"` // source only: groups derive from it
}

type Group struct {
	IDNumber string   `dss:"idnumber"`
	Members  []string `dss:"members"`
}

// Define the branches: a struct of *dss.Branch fields, in import order.
type School struct {
	Users  *dss.Branch[string, User]
	Groups *dss.Branch[string, Group]
}

// Accounts is the destination's template: one method per kind of action.
type Accounts struct{}

func (Accounts) NewUsers(ctx context.Context, a dss.Action) error {
	u := a.Source.(*User)
	fmt.Printf("create account %s (%s)\n", u.IDNumber, u.Name)
	return nil
}

func (Accounts) UpdateName(ctx context.Context, a dss.Action) error {
	fmt.Printf("rename account %s from %q to %q\n", a.ID, a.DestValue, a.Value)
	return nil
}

// The seed's scenario: user 11111 is renamed and user 22222 is new.
func Example() {
	ctx := context.Background()
	ds := dss.New[School, School]() // the datastore: a source and a destination tree
	source, dest := ds.Source.Branches, ds.Dest.Branches

	// Write the importers: one per branch, run in branch order.
	source.Users.Importer = dss.Records(
		dss.Record{"idnumber": "11111", "name": "Old Name", "_department": "students"},
		dss.Record{"idnumber": "22222", "name": "New User"},
	)
	// Groups derive from the users imported before them.
	source.Groups.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		for id, u := range source.Users.All() {
			if u.Department != "" {
				// One record per membership: the members accumulate.
				if err := yield(dss.Record{"idnumber": u.Department, "members": id}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	dest.Users.Importer = dss.Records(
		dss.Record{"idnumber": "11111", "name": "New Name"},
	)
	dest.Groups.Importer = dss.Records(
		dss.Record{"idnumber": "students", "members": []string{"11111"}},
	)

	// +source, +dest: both trees at once.
	if err := ds.Import(ctx); err != nil {
		fmt.Println(err)
		return
	}
	u1, _ := source.Users.Get("11111")
	fmt.Printf("%+v\n", *u1)

	// source - dest: the plan, judged by the destination's guards.
	plan, err := ds.Plan()
	if err != nil {
		fmt.Println(err)
		return
	}
	// source > dest
	if err := plan.Print(os.Stdout); err != nil {
		fmt.Println(err)
		return
	}
	// source >> dest: each action to the template's method named after it.
	report, err := ds.Apply(ctx, plan, dss.Methods(Accounts{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report)
	// Output:
	// {IDNumber:11111 Name:Old Name Department:students}
	// new_users(idnumber='22222')
	// update_name(idnumber='11111', attr="name", value="Old Name")
	//
	// branch  created  updated  deleted  unchanged
	// users         1        1        0          0
	// groups        0        0        0          1
	// create account 22222 (New User)
	// rename account 11111 from "New Name" to "Old Name"
	// 2 of 2 actions applied, 0 failed
}
