package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsscsv"
)

// srcUser is a row of the source's users.csv; its name comes as
// "Last, First" and is imported as the private key _lastfirst.
type srcUser struct {
	IDNumber   string `dss:"idnumber"`
	LastFirst  string `dss:"_lastfirst"`
	Name       string `dss:"name"` // derived: "First Last"
	Email      string `dss:"email"`
	Department string `dss:"department"`
}

// Derive sets Name from LastFirst.
func (u *srcUser) Derive() error {
	last, first, ok := strings.Cut(u.LastFirst, ",")
	if !ok {
		return fmt.Errorf("name %q is not \"Last, First\"", u.LastFirst)
	}
	u.Name = strings.TrimSpace(first) + " " + strings.TrimSpace(last)
	return nil
}

// dstUser is a row of the destination's users, with the name in two
// private columns.
type dstUser struct {
	IDNumber   string `dss:"idnumber"`
	FirstName  string `dss:"_firstname"`
	LastName   string `dss:"_lastname"`
	Name       string `dss:"name"` // derived: "First Last"
	Email      string `dss:"email"`
	Department string `dss:"department"`
}

// Derive sets Name from FirstName and LastName.
func (u *dstUser) Derive() error {
	u.Name = u.FirstName + " " + u.LastName
	return nil
}

type group struct {
	IDNumber string   `dss:"idnumber"`
	Members  []string `dss:"members"`
}

type srcTree struct {
	Users  *dss.Branch[string, srcUser]
	Groups *dss.Branch[string, group]
}

type dstTree struct {
	Users  *dss.Branch[string, dstUser]
	Groups *dss.Branch[string, group]
}

// importDSS imports both trees through dss's public API, as a sync program
// would, and returns a func that makes the plan and counts its actions.
func importDSS(dir string) (func() (map[string]int, error), error) {
	ctx := context.Background()
	ds := dss.New[srcTree, dstTree]()
	source, dest := ds.Source, ds.Dest
	users := dsscsv.Open(filepath.Join(dir, srcUsersFile))
	users.Rename = map[string]string{"lastfirst": "_lastfirst"}
	source.Branches.Users.Importer = users
	source.Branches.Users.Unique = true
	source.Branches.Groups.Importer = departmentGroups(source.Branches.Users)

	dusers := dsscsv.Open(filepath.Join(dir, dstUsersFile))
	dusers.Rename = map[string]string{"firstname": "_firstname", "lastname": "_lastname"}
	dest.Branches.Users.Importer = dusers
	dest.Branches.Users.Unique = true
	members := dsscsv.Open(filepath.Join(dir, membershipsFile))
	members.Rename = map[string]string{"group": "idnumber", "user": "members"}
	dest.Branches.Groups.Importer = members

	// Both trees import at once.
	if err := ds.Import(ctx); err != nil {
		return nil, err
	}
	return func() (map[string]int, error) {
		// The plan a sync program makes: its guards' verdict does not
		// matter here, only its actions.
		p, err := ds.Plan()
		if err != nil {
			return nil, err
		}
		counts := map[string]int{}
		for _, a := range p.Actions {
			if a.Kind == dss.KindError {
				return nil, fmt.Errorf("model error: %s (branch %s, attribute %q): %w", a.Name, a.Branch, a.Attr, a.Err)
			}
			counts[a.Name]++
		}
		return counts, nil
	}, nil
}

// departmentGroups derives the source's groups from its users: one row
// (idnumber, members) per membership, which dss accumulates into one group
// per department, as examples/usersync does.
func departmentGroups(users *dss.Branch[string, srcUser]) dss.Importer {
	return dss.RowsFunc([]string{"idnumber", "members"}, func(ctx context.Context, yield func([]string) error) error {
		row := make([]string, 2)
		for id, u := range users.All() {
			if u.Department == "" {
				continue
			}
			row[0], row[1] = u.Department, id
			if err := yield(row); err != nil {
				return err
			}
		}
		return nil
	})
}
