package main

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// bulkUser is one row of a generated export.
type bulkUser struct{ id, last, first, email, dept string }

// bulkUsers returns the users from..to-1, with ids from 40000000, spread
// over deps departments; n/100+7 departments are as many as a school's
// export of n users would have.
func bulkUsers(from, to, deps int) []bulkUser {
	users := make([]bulkUser, 0, to-from)
	for i := from; i < to; i++ {
		users = append(users, bulkUser{
			id:    fmt.Sprint(40000000 + i),
			last:  fmt.Sprintf("Last%d", i),
			first: fmt.Sprintf("First%d", i),
			email: fmt.Sprintf("user%d@school.example", i),
			dept:  fmt.Sprintf("dept%d", i%deps),
		})
	}
	return users
}

// bulkCSV writes users as an export and returns its path.
func bulkCSV(t *testing.T, users []bulkUser) string {
	var b strings.Builder
	b.WriteString("idnumber,name,email,department\r\n")
	for _, u := range users {
		fmt.Fprintf(&b, "%s,\"%s, %s\",%s,%s\r\n", u.id, u.last, u.first, u.email, u.dept)
	}
	return writeCSV(t, t.TempDir(), b.String())
}

// bulkWant is the snapshot the database must hold for users.
func bulkWant(users []bulkUser) [3][]string {
	var want [3][]string
	groups := map[string]bool{}
	for _, u := range users {
		want[0] = append(want[0], strings.Join([]string{u.id, u.first + " " + u.last, u.email, u.dept}, "|"))
		want[2] = append(want[2], u.dept+"|"+u.id)
		groups[u.dept] = true
	}
	for g := range groups {
		want[1] = append(want[1], g)
	}
	// As the databases order them: by each column in turn. The ids and
	// names are ASCII, whose order is the same in Go and in both databases.
	for i := range want {
		slices.SortFunc(want[i], func(a, b string) int {
			return slices.Compare(strings.Split(a, "|"), strings.Split(b, "|"))
		})
	}
	return want
}

// emptySchema makes usersync create its tables, with an export that has no
// users, so that a test can add triggers and constraints before the load.
func emptySchema(t *testing.T, b backend) {
	t.Helper()
	code, out, errOut := runSync(t, b, "-csv", writeCSV(t, t.TempDir(), "idnumber,name,email,department\r\n"))
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "nothing to do")
}

// TestBulkSyncConverges loads 12,000 users, more than one of the
// mappings' chunks holds (8,192 rows), then applies an export that renames, moves,
// deletes and adds users by the hundred and empties a department. Each run
// leaves exactly the export in the database, and the next has nothing to
// do. On PostgreSQL, statement-level triggers count the first load's
// statements: one per chunk of rows, not one per row.
func TestBulkSyncConverges(t *testing.T) {
	const n = 12_000
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			emptySchema(t, b)
			if b.name == "postgres" {
				for _, stmt := range []string{
					`CREATE TABLE statements (tbl TEXT, op TEXT, n INT, PRIMARY KEY (tbl, op))`,
					`CREATE FUNCTION count_statement() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN
						INSERT INTO statements VALUES (TG_TABLE_NAME, TG_OP, 1)
						ON CONFLICT (tbl, op) DO UPDATE SET n = statements.n + 1;
						RETURN NULL;
					END $$`,
					`CREATE TRIGGER count_users AFTER INSERT OR UPDATE OR DELETE ON users
					FOR EACH STATEMENT EXECUTE FUNCTION count_statement()`,
					`CREATE TRIGGER count_members AFTER INSERT OR UPDATE OR DELETE ON group_members
					FOR EACH STATEMENT EXECUTE FUNCTION count_statement()`,
				} {
					_, err := b.db.Exec(stmt)
					require.NoError(t, err)
				}
			}
			statements := func() []string {
				if b.name != "postgres" {
					return nil
				}
				s := rows(t, b.db, `SELECT tbl, op, n FROM statements ORDER BY 1, 2`)
				_, err := b.db.Exec(`DELETE FROM statements`)
				require.NoError(t, err)
				return s
			}

			users := bulkUsers(0, n, n/100+7)
			path := bulkCSV(t, users)
			code, out, errOut := runSync(t, b, "-csv", path)
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, fmt.Sprintf("applied %d actions", n+n/100+7))
			require.Equal(t, bulkWant(users), snapshot(t, b.db))
			if b.name == "postgres" {
				// 12,000 users: two INSERTs into users. The groups' rows
				// and their 12,000 members are cut into chunks together:
				// two INSERTs into group_members.
				require.Equal(t, []string{"group_members|INSERT|2", "users|INSERT|2"}, statements())
			}
			code, out, errOut = runSync(t, b, "-csv", path)
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "nothing to do")

			var edited []bulkUser
			for i, u := range users {
				switch {
				case i%60 == 0:
					continue // 200 users go
				case i%7 == 1:
					u.last += "-Renamed"
				case i%25 == 2:
					u.dept = "dept0"
				}
				edited = append(edited, u)
			}
			for i, u := range bulkUsers(n, n+300, n/100+7) {
				if i%2 == 0 {
					u.dept = "newdept" // new_groups with 150 members
				}
				edited = append(edited, u)
			}
			for i := range edited {
				if edited[i].dept == "dept5" { // the department goes: old_groups
					edited[i].dept = "dept6"
				}
			}
			path = bulkCSV(t, edited)
			code, out, errOut = runSync(t, b, "-csv", path, "-verbose")
			require.Equal(t, exitOK, code, errOut)
			for _, name := range []string{"new_users", "old_users", "update_name", "update_department",
				"new_groups", "old_groups", "add_members_to_groups", "remove_members_from_groups"} {
				require.True(t, strings.Contains(out, "\n"+name+"("), "the edit exercises every method: no %s", name)
			}
			require.Equal(t, bulkWant(edited), snapshot(t, b.db))
			code, out, errOut = runSync(t, b, "-csv", path)
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "nothing to do")
		})
	}
}

// TestBulkFailingRow: a constraint rejects one user, or one membership, in
// the middle of a batch of 3,000. The error names that action (the group,
// for a member), the rest of the batch is not reported as failed, and the
// database is left empty, as it was.
func TestBulkFailingRow(t *testing.T) {
	users := bulkUsers(0, 3000, 3000/100+7)
	cases := []struct {
		name     string
		postgres string
		sqlite   string
		want     []string
	}{{
		name:     "user",
		postgres: `ALTER TABLE users ADD CONSTRAINT no_1234 CHECK (idnumber <> '40001234')`,
		sqlite: `CREATE TRIGGER no_1234 BEFORE INSERT ON users WHEN NEW.idnumber = '40001234'
			BEGIN SELECT RAISE(ABORT, 'no_1234'); END`,
		want: []string{"stopped at the first failure: dss: new_users(idnumber='40001234'): "},
	}, {
		name:     "member",
		postgres: `ALTER TABLE group_members ADD CONSTRAINT no_1234 CHECK (user_idnumber <> '40001234')`,
		sqlite: `CREATE TRIGGER no_1234 BEFORE INSERT ON group_members WHEN NEW.user_idnumber = '40001234'
			BEGIN SELECT RAISE(ABORT, 'no_1234'); END`,
		// 3000/100+7 departments: user 1234 is in dept1234%37.
		want: []string{"stopped at the first failure: dss: new_groups(idnumber='dept13'): "},
	}}
	for _, c := range cases {
		for _, b := range backends(t) {
			t.Run(c.name+"/"+b.name, func(t *testing.T) {
				emptySchema(t, b)
				ddl := c.sqlite
				if b.name != "sqlite" { // PostgreSQL's CHECK is MySQL's too
					ddl = c.postgres
				}
				_, err := b.db.Exec(ddl)
				require.NoError(t, err)

				code, out, errOut := runSync(t, b, "-csv", bulkCSV(t, users))
				require.Equal(t, exitError, code, out)
				for _, w := range c.want {
					require.Contains(t, errOut, w)
				}
				requireConstraint(t, b, errOut, "no_1234")
				require.Contains(t, errOut, "rolled back")
				require.NotContains(t, errOut, "Last1234", "the failing row's name stays out of the error")
				require.Equal(t, [3][]string{}, snapshot(t, b.db), "a failed apply left rows behind")
			})
		}
	}
}

// TestForeignKeysIndexed: both columns of group_members that refer to
// another table lead an index, so that deleting a user or a group does not
// scan every membership. A database made before the index existed gets it
// on the next run.
func TestForeignKeysIndexed(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "mysql" {
				// The index is in MySQL's CREATE TABLE (and InnoDB
				// indexes a foreign key by itself).
				code, _, errOut := runSync(t, b)
				require.Equal(t, exitOK, code, errOut)
				require.ElementsMatch(t, []string{"group_idnumber", "user_idnumber"}, rows(t, b.db,
					`SELECT DISTINCT column_name FROM information_schema.statistics
					WHERE table_schema = DATABASE() AND table_name = 'group_members' AND seq_in_index = 1`))
				return
			}
			// The tables as the first usersync made them: no index.
			for _, stmt := range schema[:3] {
				_, err := b.db.Exec(stmt)
				require.NoError(t, err)
			}
			code, _, errOut := runSync(t, b)
			require.Equal(t, exitOK, code, errOut)
			if b.name == "postgres" {
				require.ElementsMatch(t, []string{"group_idnumber", "user_idnumber"}, rows(t, b.db,
					`SELECT a.attname FROM pg_index i
					JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
					WHERE i.indrelid = 'group_members'::regclass`))
				return
			}
			// A new connection: b.db's has the schema from before the run,
			// and EXPLAIN does not check that it is current.
			db, err := sql.Open("sqlite", "file:"+b.flags[1])
			require.NoError(t, err)
			defer db.Close()
			for _, col := range []string{"group_idnumber", "user_idnumber"} {
				plan := rows(t, db, `EXPLAIN QUERY PLAN SELECT 1 FROM group_members WHERE `+col+` = '20240001'`)
				require.Len(t, plan, 1)
				require.Contains(t, plan[0], "SEARCH group_members USING COVERING INDEX", col)
			}
		})
	}
}
