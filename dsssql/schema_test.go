package dsssql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

type sUser struct {
	IDNumber string  `dss:"idnumber"`
	Name     string  `dss:"name"`
	Email    string  `dss:"email"`
	Age      int     `dss:"age"`
	Nick     *string `dss:"nick"`
	Score    float64 `dss:"score"`
}

type sGroup struct {
	IDNumber string   `dss:"idnumber"`
	Members  []string `dss:"members"`
}

type sTree struct {
	Users  *dss.Branch[string, sUser]
	Groups *dss.Branch[string, sGroup]
}

// TestMappingSchemaProblems: a declaration that does not fit the database
// fails the import with one *SchemaError that lists every problem, and
// nothing is read or written.
func TestMappingSchemaProblems(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		// No email column; age holds text; nick may not be NULL; score
		// is an integer; idnumber is not unique.
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL,
			age DATE NOT NULL, nick VARCHAR(20) NOT NULL, score INTEGER NOT NULL, stamp INTEGER)`)
		exec(t, db, `CREATE TABLE grp (idnumber VARCHAR(20) PRIMARY KEY)`)
		exec(t, db, `CREATE TABLE members (grp VARCHAR(20) NOT NULL, usr VARCHAR(20) NOT NULL)`)
		exec(t, db, `CREATE TABLE people (id INTEGER NOT NULL, idnumber VARCHAR(20) NOT NULL)`)
		ds := dss.New[sTree, sTree]()
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		users.Scope = map[string]any{"origin": "sis"}
		users.Stamps = map[string]func() any{"stamp": func() any { return 1 }, "modified": func() any { return 1 }}
		groups := dsssql.Map(ds.Dest.Branches.Groups, "grp", "idnumber")
		groups.Lists = map[string]dsssql.Join{"members": {Table: "members", Owner: "grp", Member: "user_id",
			Lookup: &dsssql.Lookup{Table: "people", ID: "id", Key: "idnumber"}}}
		nowhere := dsssql.Map(ds.Dest.Branches.Users, "nowhere", "idnumber")
		ctx := context.Background()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		for _, c := range []struct {
			m    *dsssql.Mapping
			want []string
		}{
			{users, []string{
				"key column users.idnumber is not unique",
				"no column users.email for attribute email",
				"column users.age for attribute age: its type date cannot hold integer values",
				"column users.nick for attribute nick is NOT NULL, and the attribute may be absent",
				"column users.score for attribute score: its type int", // integer, int(11)
				"no column users.origin for Scope",
				"no column users.modified for Stamps",
			}},
			{groups, []string{
				"no column members.user_id for list members (Member)",
				"column people.idnumber (Lookup.Key of list members) is not unique",
			}},
			{nowhere, []string{"no table nowhere"}},
		} {
			c.m.DB = tx
			err := c.m.Import(ctx, func(dss.Record) error { t.Fatal("a record was read"); return nil })
			var se *dsssql.SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("Import: %v, want a *dsssql.SchemaError", err)
			}
			if len(se.Problems) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%s", len(se.Problems), len(c.want), strings.Join(se.Problems, "\n"))
			}
			for _, w := range c.want {
				found := false
				for _, p := range se.Problems {
					found = found || strings.Contains(strings.ReplaceAll(p, "character varying", "varchar"), w)
				}
				if !found {
					t.Errorf("no problem %q in:\n%s", w, strings.Join(se.Problems, "\n"))
				}
			}
		}
	})
}

// TestMappingDeclarationProblems: a declaration that does not fit its
// object type is one error, before any database is asked.
func TestMappingDeclarationProblems(t *testing.T) {
	ds := dss.New[sTree, sTree]()
	users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
	users.Columns = map[string]string{"mail": "email", "name": "idnumber"}
	users.Scope = map[string]any{"age": 1, "origin": nil}
	users.SoftDelete = &dsssql.SoftDelete{Column: "deleted", Deleted: 0, Live: 0}
	groups := dsssql.Map(ds.Dest.Branches.Groups, "grp", "idnumber") // no join table for members
	for _, c := range []struct {
		m    *dsssql.Mapping
		want []string
	}{
		{users, []string{
			`Columns renames "mail", which is no scalar attribute`,
			`column "idnumber" holds both idnumber and attribute name`,
			`column "age" holds both attribute age and a Scope value`,
			`Scope["origin"] is <nil>`,
			`SoftDelete needs a Column and two different values`,
		}},
		{groups, []string{`list attribute "members" has no join table (set Lists["members"])`}},
	} {
		err := c.m.Import(context.Background(), func(dss.Record) error { return nil })
		var se *dsssql.SchemaError
		if !errors.As(err, &se) {
			t.Fatalf("Import: %v, want a *dsssql.SchemaError", err)
		}
		if len(se.Problems) != len(c.want) {
			t.Errorf("%d problems, want %d:\n%s", len(se.Problems), len(c.want), strings.Join(se.Problems, "\n"))
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("no problem %q in %v", w, err)
			}
		}
		if c.m.Implements("new_" + c.m.Branch()) {
			t.Errorf("a Mapping with a bad declaration implements new_%s", c.m.Branch())
		}
	}
}

// TestMappingUniqueIndexes: a unique index makes the key unique only when
// it holds the key and Scope's columns and nothing else, has no WHERE and
// no expression. (MariaDB has no index on an expression.)
func TestMappingUniqueIndexes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		for i, c := range []struct {
			index  string
			unique bool
		}{
			{`CREATE UNIQUE INDEX %s_i ON %s (idnumber)`, true},
			{`CREATE UNIQUE INDEX %s_i ON %s (origin, idnumber)`, true},
			{`CREATE UNIQUE INDEX %s_i ON %s (idnumber, name)`, false},
			{`CREATE UNIQUE INDEX %s_i ON %s (idnumber, lower(name))`, false},
			{`CREATE UNIQUE INDEX %s_i ON %s (idnumber) WHERE age > 0`, false},
			{`CREATE INDEX %s_i ON %s (idnumber)`, false},
		} {
			table := fmt.Sprintf("users%d", i)
			exec(t, db, `CREATE TABLE `+table+` (idnumber VARCHAR(20) NOT NULL, origin VARCHAR(20) NOT NULL,
				name VARCHAR(20) NOT NULL, email VARCHAR(20) NOT NULL, age INTEGER NOT NULL, nick VARCHAR(20), score REAL NOT NULL)`)
			exec(t, db, fmt.Sprintf(c.index, table, table))
			ds := dss.New[sTree, sTree]()
			users := dsssql.Map(ds.Dest.Branches.Users, table, "idnumber")
			users.Scope = map[string]any{"origin": "sis"}
			users.DB = db
			err := users.Import(context.Background(), func(dss.Record) error { return nil })
			if notUnique := err != nil && strings.Contains(err.Error(), "is not unique"); notUnique == c.unique || (c.unique && err != nil) {
				t.Errorf("%s: %v", c.index, err)
			}
		}
	})
}
