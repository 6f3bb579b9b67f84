package main

import (
	"context"
	"errors"
	"strings"

	"github.com/datastoresync/dss"
)

// SourceUser is a user as the school's CSV export has it: the name comes as
// "Last, First" and is imported as the private key "_lastfirst".
type SourceUser struct {
	IDNumber   string `dss:"idnumber"`
	LastFirst  string `dss:"_lastfirst"`
	Name       string `dss:"name"` // derived: "First Last"
	Email      string `dss:"email"`
	Department string `dss:"department"`
}

// Derive sets Name from LastFirst, as the original's properties do.
func (u *SourceUser) Derive() error {
	last, first, ok := strings.Cut(u.LastFirst, ",")
	if !ok {
		// The name itself stays out of the message: it is personal data.
		return errors.New(`the name is not "Last, First"`)
	}
	u.Name = strings.TrimSpace(first) + " " + strings.TrimSpace(last)
	return nil
}

// DestUser is a row of the application's users table.
type DestUser struct {
	IDNumber   string `dss:"idnumber"`
	Name       string `dss:"name"`
	Email      string `dss:"email"`
	Department string `dss:"department"`
}

// Group is a group and its members, on both sides: the source derives one
// group per department, the destination reads groups and group_members.
type Group struct {
	IDNumber string   `dss:"idnumber"`
	Members  []string `dss:"members"`
}

// Source is the school's side, the point of truth.
type Source struct {
	Users  *dss.Branch[string, SourceUser]
	Groups *dss.Branch[string, Group]
}

// Dest is the application's side.
type Dest struct {
	Users  *dss.Branch[string, DestUser]
	Groups *dss.Branch[string, Group]
}

// departmentGroups derives the source's groups from its users: one row
// (idnumber, members) per membership, which dss accumulates into one group
// per department. Rows of fixed keys cost less than a Record each.
func departmentGroups(users *dss.Branch[string, SourceUser]) dss.Importer {
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
