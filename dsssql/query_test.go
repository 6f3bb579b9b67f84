package dsssql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

type user struct {
	IDNumber   string    `dss:"idnumber"`
	Name       string    `dss:"name"`
	Email      string    `dss:"email"`
	Department string    `dss:"department"`
	Age        int       `dss:"age"`
	Active     bool      `dss:"active"`
	Created    time.Time `dss:"created"`
	Nickname   string    `dss:"nickname"`
}

type group struct {
	IDNumber string   `dss:"idnumber"`
	Name     string   `dss:"name"`
	Members  []string `dss:"members"`
}

type school struct {
	Users  *dss.Branch[string, user]
	Groups *dss.Branch[string, group]
}

type userTree struct {
	Users *dss.Branch[string, user]
}

var (
	ada = user{IDNumber: "11111", Name: "Ada Lovelace", Email: "ada@example.org", Department: "math",
		Age: 36, Active: true, Created: time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)}
	alan = user{IDNumber: "22222", Name: "Alan Turing", Email: "alan@example.org", Department: "cs",
		Age: 41, Active: false, Created: time.Date(2023, 6, 23, 12, 0, 0, 0, time.UTC), Nickname: "Prof"}
	grace = user{IDNumber: "33333", Name: "Grace Hopper", Department: "cs",
		Age: 85, Active: true, Created: time.Date(1992, 12, 9, 0, 0, 0, 0, time.UTC)}
)

// createSchool creates and fills the users, groups and group_members tables.
// Ada's nickname, Grace's email and the empty group's name are NULL.
func createSchool(t *testing.T, b backend, db *sql.DB) {
	t.Helper()
	exec(t, db, `CREATE TABLE users (
		idnumber   TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		email      TEXT,
		department TEXT,
		age        INTEGER,
		active     BOOLEAN,
		created    `+b.timestamp+`,
		nickname   TEXT)`)
	exec(t, db, `CREATE TABLE groups (idnumber TEXT PRIMARY KEY, name TEXT)`)
	exec(t, db, `CREATE TABLE group_members (group_id TEXT NOT NULL, user_id TEXT NOT NULL)`)
	for _, u := range []user{ada, alan, grace} {
		exec(t, db, `INSERT INTO users VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			u.IDNumber, u.Name, nullable(u.Email), u.Department, u.Age, u.Active, u.Created, nullable(u.Nickname))
	}
	exec(t, db, `INSERT INTO groups VALUES ('math', 'Mathematics'), ('cs', 'Computer Science'), ('empty', NULL)`)
	exec(t, db, `INSERT INTO group_members VALUES ('math', '11111'), ('cs', '22222'), ('cs', '33333'), ('cs', '11111')`)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const (
	usersQuery = `SELECT idnumber, name, email, department, age, active, created, nickname
		FROM users ORDER BY idnumber`
	groupsQuery = `SELECT g.idnumber, g.name, m.user_id AS members
		FROM groups g LEFT JOIN group_members m ON m.group_id = g.idnumber
		ORDER BY g.idnumber, m.user_id`
)

// importerFunc builds an importer once the test's database is open.
type importerFunc func(db dsssql.Queryer) *dsssql.Importer

func query(q string, args ...any) importerFunc {
	return func(db dsssql.Queryer) *dsssql.Importer { return dsssql.Query(db, q, args...) }
}

func table(name string, columns ...string) importerFunc {
	return func(db dsssql.Queryer) *dsssql.Importer { return dsssql.Table(db, name, columns...) }
}

// TestImport runs queries against each database and checks the objects they
// decode to.
func TestImport(t *testing.T) {
	tests := []struct {
		name       string
		why        string
		users      importerFunc // nil: no users
		groups     importerFunc // nil: no groups
		wantUsers  []user
		wantGroups []group
	}{{
		name:       "tables",
		why:        "text, integer, boolean, timestamp and NULL columns convert to fields; a LEFT JOIN gives each group all its members, and none for a NULL member",
		users:      query(usersQuery),
		groups:     query(groupsQuery),
		wantUsers:  []user{ada, alan, grace},
		wantGroups: []group{{"cs", "Computer Science", []string{"11111", "22222", "33333"}}, {"empty", "", nil}, {"math", "Mathematics", []string{"11111"}}},
	}, {
		name:      "parameters",
		why:       "arguments are passed as parameters",
		users:     query(`SELECT * FROM users WHERE department = $1 AND active = $2`, "cs", true),
		wantUsers: []user{grace},
	}, {
		name:  "hostile parameter",
		why:   "a value is never spliced into the query text",
		users: query(`SELECT * FROM users WHERE department = $1`, "cs' OR '1'='1"),
	}, {
		name:       "one row per membership",
		why:        "rows that share an idnumber accumulate their members",
		groups:     query(`SELECT group_id AS idnumber, user_id AS members FROM group_members`),
		wantGroups: []group{{"cs", "", []string{"11111", "22222", "33333"}}, {"math", "", []string{"11111"}}},
	}, {
		name:       "table",
		why:        "Table reads every column of a table, or the columns given",
		users:      table("users"),
		groups:     table("groups", "idnumber", "name"),
		wantUsers:  []user{ada, alan, grace},
		wantGroups: []group{{"cs", "Computer Science", nil}, {"empty", "", nil}, {"math", "Mathematics", nil}},
	}}
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		createSchool(t, b, db)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tree := dss.NewTree[school]("dest")
				tree.Branches.Users.Importer = build(db, tt.users)
				tree.Branches.Groups.Importer = build(db, tt.groups)
				if err := tree.Import(context.Background()); err != nil {
					t.Fatalf("%s: Import: %v", tt.why, err)
				}
				opts := cmpopts.EquateEmpty()
				if d := cmp.Diff(tt.wantUsers, objects(tree.Branches.Users), opts); d != "" {
					t.Errorf("%s: users (-want +got):\n%s", tt.why, d)
				}
				if d := cmp.Diff(tt.wantGroups, objects(tree.Branches.Groups), opts); d != "" {
					t.Errorf("%s: groups (-want +got):\n%s", tt.why, d)
				}
			})
		}
	})
}

// build returns f's importer of db, or an importer of nothing if f is nil.
func build(db dsssql.Queryer, f importerFunc) dss.Importer {
	if f == nil {
		return dss.Records()
	}
	return f(db)
}

func objects[V any](b *dss.Branch[string, V]) []V {
	var out []V
	for _, v := range b.All() {
		out = append(out, *v)
	}
	return out
}

// TestQueryers imports through a *sql.DB, a *sql.Tx and a *sql.Conn, each
// seeing what only it can see.
func TestQueryers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		createSchool(t, b, db)
		importUsers := func(t *testing.T, q dsssql.Queryer) []user {
			t.Helper()
			tree := dss.NewTree[userTree]("dest")
			tree.Branches.Users.Importer = dsssql.Query(q, `SELECT idnumber, name FROM users ORDER BY idnumber`)
			if err := tree.Import(ctx); err != nil {
				t.Fatal(err)
			}
			return objects(tree.Branches.Users)
		}
		names := func(us []user) (s []string) {
			for _, u := range us {
				s = append(s, u.Name)
			}
			return s
		}
		t.Run("DB", func(t *testing.T) {
			want := []string{"Ada Lovelace", "Alan Turing", "Grace Hopper"}
			if got := names(importUsers(t, db)); !cmp.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
		t.Run("Tx", func(t *testing.T) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE idnumber = $1`, "22222"); err != nil {
				t.Fatal(err)
			}
			want := []string{"Ada Lovelace", "Grace Hopper"} // the transaction's view
			if got := names(importUsers(t, tx)); !cmp.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
		t.Run("Conn", func(t *testing.T) {
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// A temporary table is seen by its connection only, and hides
			// users in PostgreSQL's search path and in SQLite's name lookup.
			for _, q := range []string{
				`CREATE TEMP TABLE users (idnumber TEXT, name TEXT)`,
				`INSERT INTO users VALUES ('44444', 'Temp User')`,
			} {
				if _, err := conn.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			want := []string{"Temp User"}
			if got := names(importUsers(t, conn)); !cmp.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	})
}

// TestQueryError checks that an error of the query names the importer and
// wraps the driver's error.
func TestQueryError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		tests := []struct {
			name     string
			importer *dsssql.Importer
			prefix   string
		}{
			{"default name", dsssql.Query(db, "SELECT *\n\t FROM no_such_table"), "sql SELECT * FROM no_such_table: query: "},
			{"long query", dsssql.Query(db, "SELECT idnumber, name, email, department FROM no_such_table"), "sql SELECT idnumber, name, email, departmen…: query: "},
			{"Name", func() *dsssql.Importer {
				im := dsssql.Query(db, "SELECT * FROM no_such_table")
				im.Name = "accounts"
				return im
			}(), "sql accounts: query: "},
			{"Table", dsssql.Table(db, "no_such_table"), "sql no_such_table: query: "},
			{"duplicate column", dsssql.Query(db, "SELECT 1 AS idnumber, 2 AS idnumber"), `sql SELECT 1 AS idnumber, 2 AS idnumber: column "idnumber" appears twice`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tree := dss.NewTree[userTree]("dest")
				tree.Branches.Users.Importer = tt.importer
				err := tree.Import(context.Background())
				var ie *dss.ImportError
				if !errors.As(err, &ie) {
					t.Fatalf("Import: %v, want an *dss.ImportError", err)
				}
				if ie.Branch != "users" || !strings.HasPrefix(ie.Err.Error(), tt.prefix) {
					t.Fatalf("Import: branch %q, cause %q; want branch users, cause starting %q", ie.Branch, ie.Err, tt.prefix)
				}
				if strings.Contains(tt.prefix, "query: ") && errors.Unwrap(ie.Err) == nil {
					t.Errorf("cause %q does not wrap the driver's error", ie.Err)
				}
				if n := strings.Count(err.Error(), "dss: "); n != 1 {
					t.Errorf("Import: %q has %d \"dss: \", want 1", err, n)
				}
			})
		}
	})
}

// TestConvertError checks that a value that does not convert is reported
// with its position (importer name, row number), key and value.
func TestConvertError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE people (idnumber TEXT, age TEXT)`)
		exec(t, db, `INSERT INTO people VALUES ('1', '30'), ('2', 'old'), ('3', '40')`)
		tree := dss.NewTree[userTree]("dest")
		im := dsssql.Query(db, `SELECT idnumber, age FROM people ORDER BY idnumber`)
		im.Name = "people"
		tree.Branches.Users.Importer = im
		err := tree.Import(context.Background())
		var ie *dss.ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("Import: %v, want an *dss.ImportError", err)
		}
		want := dss.Pos{Source: "people", Line: 2}
		if ie.Pos != want || ie.ID != "2" || ie.Key != "age" || ie.Value != "old" || !errors.Is(err, dss.ErrConvert) {
			t.Errorf("Import: %#v\nwant Pos %v, ID 2, Key age, Value old, ErrConvert", ie, want)
		}
		if !strings.Contains(err.Error(), "people:2") {
			t.Errorf("Import: %q does not name people:2", err)
		}
	})
}

// TestContext checks that a context that ends before or during an import
// stops it with the context's error.
func TestContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		createSchool(t, b, db)
		t.Run("before", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := dsssql.Query(db, usersQuery).Import(ctx, func(dss.Record) error {
				t.Error("yield called")
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Import: %v, want context.Canceled", err)
			}
		})
		t.Run("during", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tree := dss.NewTree[userTree]("dest")
			tree.Branches.Users.Importer = dsssql.Query(db, usersQuery)
			n := 0
			tree.Branches.Users.Filter = func(dss.Record) bool {
				n++
				cancel()
				return true
			}
			err := tree.Import(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Import: %v, want context.Canceled", err)
			}
			if n != 1 {
				t.Errorf("%d records yielded, want 1: the import goes on after cancel", n)
			}
		})
		t.Run("deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
			defer cancel()
			<-ctx.Done()
			err := dsssql.Query(db, usersQuery).Import(ctx, func(dss.Record) error { return nil })
			if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "sql ") {
				t.Errorf("Import: %v, want an sql error wrapping context.DeadlineExceeded", err)
			}
		})
	})
}

// TestRecords checks the records and positions an Importer yields, and that
// an error of yield comes back as it is.
func TestRecords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		createSchool(t, b, db)
		im := dsssql.Query(db, `SELECT idnumber, nickname AS "Nick Name" FROM users ORDER BY idnumber`)
		im.Name = "users"
		var got []string
		stop := errors.New("stop")
		err := im.Import(context.Background(), func(r dss.Record) error {
			got = append(got, fmt.Sprintf("%v %v %#v", im.Position(), r["idnumber"], r["Nick Name"]))
			if len(r) != 2 {
				t.Errorf("record %v has %d keys, want 2", r, len(r))
			}
			if len(got) == 3 {
				return stop
			}
			return nil
		})
		if err != stop {
			t.Errorf("Import: %v, want yield's error as it is", err)
		}
		want := []string{`users:1 11111 <nil>`, `users:2 22222 "Prof"`, `users:3 33333 <nil>`}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("records (-want +got):\n%s", d)
		}
		// A second import starts again at row 1.
		err = im.Import(context.Background(), func(r dss.Record) error {
			if p := im.Position(); p.Line != 1 {
				t.Errorf("second import: Position %v, want users:1", p)
			}
			return stop
		})
		if err != stop {
			t.Errorf("second Import: %v, want yield's error as it is", err)
		}
	})
}
