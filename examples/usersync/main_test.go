package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// backend is a fresh, empty database for one test: its flags for run, and a
// connection for the test to look at the rows.
type backend struct {
	name  string
	flags []string
	db    *sql.DB
}

func backends(t *testing.T) []backend {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usersync.db")
	sqlite, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	t.Cleanup(func() { sqlite.Close() })
	out := []backend{{name: "sqlite", flags: []string{"-db", path}, db: sqlite}}
	if b, ok := postgresBackend(t); ok {
		out = append(out, b)
	}
	if b, ok := mysqlBackend(t); ok {
		out = append(out, b)
	}
	return out
}

// postgresBackend is a new schema in the database at DSS_TEST_POSTGRES.
func postgresBackend(t *testing.T) (backend, bool) {
	dsn := os.Getenv("DSS_TEST_POSTGRES")
	if dsn == "" {
		t.Log("DSS_TEST_POSTGRES not set: skipping the PostgreSQL part of this test")
		return backend{}, false
	}
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	schema := fmt.Sprintf("usersync_test_%d", time.Now().UnixNano())
	_, err = admin.Exec(`CREATE SCHEMA ` + schema)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	sdsn := dsn + sep + "search_path=" + schema
	pg, err := sql.Open("pgx", sdsn)
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	return backend{name: "postgres", flags: []string{"-dsn", sdsn}, db: pg}, true
}

// mysqlBackend is a new database on the MySQL or MariaDB server at
// DSS_TEST_MYSQL (the driver's DSN: root@tcp(127.0.0.1:3306)/test), which
// usersync is given as a mysql:// URL. The test's own connection quotes
// identifiers as the other databases do ("groups"), so that the tests'
// queries fit every backend.
func mysqlBackend(t *testing.T) (backend, bool) {
	dsn := os.Getenv("DSS_TEST_MYSQL")
	if dsn == "" {
		t.Log("DSS_TEST_MYSQL not set: skipping the MySQL part of this test")
		return backend{}, false
	}
	config, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	admin, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("usersync_test_%d", time.Now().UnixNano())
	_, err = admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name) })

	config.DBName = name
	config.Params = map[string]string{"sql_mode": "CONCAT(@@sql_mode, ',ANSI_QUOTES')"}
	connector, err := mysql.NewConnector(config)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	u := url.URL{Scheme: "mysql", User: url.User(config.User), Host: config.Addr, Path: "/" + name}
	if config.Passwd != "" {
		u.User = url.UserPassword(config.User, config.Passwd)
	}
	return backend{name: "mysql", flags: []string{"-dsn", u.String()}, db: db}, true
}

// runSync runs the program and returns its exit code and output.
func runSync(t *testing.T, b backend, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(append([]string{}, b.flags...), args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// rows returns a table's rows as sorted text.
func rows(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rs, err := db.Query(query)
	require.NoError(t, err)
	defer rs.Close()
	cols, err := rs.Columns()
	require.NoError(t, err)
	var out []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rs.Scan(ptrs...))
		var parts []string
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts = append(parts, fmt.Sprint(v))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	require.NoError(t, rs.Err())
	return out
}

func snapshot(t *testing.T, db *sql.DB) [3][]string {
	return [3][]string{
		rows(t, db, `SELECT idnumber, name, email, department FROM users ORDER BY idnumber`),
		rows(t, db, `SELECT idnumber FROM "groups" ORDER BY idnumber`),
		rows(t, db, `SELECT group_idnumber, user_idnumber FROM group_members ORDER BY 1, 2`),
	}
}

// planLines returns the action lines of the program's output.
func planLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "(idnumber=") {
			lines = append(lines, l)
		}
	}
	return lines
}

func writeCSV(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "users.csv")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// TestStory walks the main job: a first run fills the database, a second has
// nothing to do, and an edited export gives exactly its edits.
func TestStory(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			csvPath := writeCSV(t, dir, defaultCSV)

			code, out, errOut := runSync(t, b, "-csv", csvPath, "-dry-run", "-verbose")
			require.Equal(t, exitOK, code, errOut)
			require.Len(t, planLines(out), 46) // 40 users, 6 groups

			// Longer than a screen: its first lines, then the count.
			code, out, errOut = runSync(t, b, "-csv", csvPath)
			require.Equal(t, exitOK, code, errOut)
			require.Len(t, planLines(out), 20)
			require.Contains(t, out, "\n... and 26 more actions (-verbose prints them all, -out saves them)\n\nbranch")
			require.Contains(t, out, "applied 46 actions")
			snap := snapshot(t, b.db)
			require.Len(t, snap[0], 40)
			require.Contains(t, snap[0], "20240001|Chidi Okafor|chidi.okafor@school.example|mathematics")
			require.Len(t, snap[1], 6)
			require.Len(t, snap[2], 40)

			code, out, errOut = runSync(t, b, "-csv", csvPath)
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "nothing to do")
			require.Empty(t, planLines(out))
			code, _, _ = runSync(t, b, "-csv", csvPath, "-dry-run", "-detailed-exitcode")
			require.Equal(t, exitOK, code)

			// Rename a user, move one to another department, delete one.
			edited := strings.Replace(defaultCSV, `"Okafor, Chidi"`, `"Okafor-Bello, Chidi"`, 1)
			edited = strings.Replace(edited, "astrid.lindqvist@school.example,physics", "astrid.lindqvist@school.example,history", 1)
			edited = strings.Replace(edited, "20240015,\"Nakamura, Haruto\",haruto.nakamura@school.example,history\r\n", "", 1)
			require.NotEqual(t, defaultCSV, edited)
			csvPath = writeCSV(t, dir, edited)

			want := []string{
				`update_name(idnumber='20240001', attr="name", value="Chidi Okafor-Bello")`,
				`update_department(idnumber='20240008', attr="department", value="history")`,
				`add_members_to_groups(idnumber='history', attr="members", value="20240008")`,
				`remove_members_from_groups(idnumber='history', attr="members", value="20240015")`,
				`remove_members_from_groups(idnumber='physics', attr="members", value="20240008")`,
				`old_users(idnumber='20240015')`,
			}
			code, out, _ = runSync(t, b, "-csv", csvPath, "-dry-run", "-detailed-exitcode")
			require.Equal(t, exitChanges, code)
			require.Equal(t, want, planLines(out))
			require.Contains(t, out, "dry run: nothing applied")
			require.Equal(t, snap, snapshot(t, b.db), "a dry run changed the database")

			code, out, errOut = runSync(t, b, "-csv", csvPath)
			require.Equal(t, exitOK, code, errOut)
			require.Equal(t, want, planLines(out))
			after := snapshot(t, b.db)
			require.Len(t, after[0], 39)
			require.Contains(t, after[0], "20240001|Chidi Okafor-Bello|chidi.okafor@school.example|mathematics")
			require.Contains(t, after[0], "20240008|Astrid Lindqvist|astrid.lindqvist@school.example|history")
			require.Contains(t, after[2], "history|20240008")
			require.NotContains(t, after[2], "physics|20240008")

			code, out, _ = runSync(t, b, "-csv", csvPath, "-dry-run", "-detailed-exitcode")
			require.Equal(t, exitOK, code)
			require.Contains(t, out, "nothing to do")
		})
	}
}

// TestSavedPlan: -out writes the plan, -plan applies it, and a plan whose
// database changed in between is refused.
func TestSavedPlan(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			planPath := filepath.Join(dir, "plan.json")
			code, out, errOut := runSync(t, b, "-out", planPath)
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "plan written to")
			require.Empty(t, snapshot(t, b.db)[0], "-out must not apply")

			code, out, errOut = runSync(t, b, "-plan", planPath)
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "applied 46 actions")
			require.Len(t, snapshot(t, b.db)[0], 40)

			// A plan made, then the database changes, then the plan is refused.
			csvPath := writeCSV(t, dir, strings.Replace(defaultCSV, "Okafor, Chidi", "Okafor, Chi", 1))
			code, _, errOut = runSync(t, b, "-csv", csvPath, "-out", planPath)
			require.Equal(t, exitOK, code, errOut)
			_, err := b.db.Exec(`UPDATE users SET email = 'changed@school.example' WHERE idnumber = '20240008'`)
			require.NoError(t, err)
			before := snapshot(t, b.db)
			code, _, errOut = runSync(t, b, "-plan", planPath)
			require.Equal(t, exitError, code)
			require.Contains(t, errOut, "the destination drifted: branch users changed since the plan was made; nothing applied")
			require.Equal(t, before, snapshot(t, b.db))
		})
	}
}

// TestFailedApplyChangesNothing: when the n-th action violates a constraint,
// the transaction rolls back and the database is exactly as it was.
func TestFailedApplyChangesNothing(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			code, _, errOut := runSync(t, b)
			require.Equal(t, exitOK, code, errOut)
			before := snapshot(t, b.db)

			// Three users change department. The plan creates group
			// newdept, moves user 20240001, then fails on its third action,
			// the move of user 20240015, which a constraint forbids.
			edited := strings.Replace(defaultCSV, "haruto.nakamura@school.example,history", "haruto.nakamura@school.example,arts", 1)
			edited = strings.Replace(edited, "lucia.garcia@school.example,languages", "lucia.garcia@school.example,newdept", 1)
			edited = strings.Replace(edited, "chidi.okafor@school.example,mathematics", "chidi.okafor@school.example,arts", 1)
			csvPath := writeCSV(t, t.TempDir(), edited)
			var err error
			if b.name != "sqlite" {
				_, err = b.db.Exec(`ALTER TABLE users ADD CONSTRAINT no_arts CHECK (department <> 'arts' OR idnumber <> '20240015')`)
			} else { // SQLite cannot add a CHECK to a table: a trigger does the same
				_, err = b.db.Exec(`CREATE TRIGGER no_arts BEFORE UPDATE ON users
					WHEN NEW.department = 'arts' AND NEW.idnumber = '20240015'
					BEGIN SELECT RAISE(ABORT, 'no_arts'); END`)
			}
			require.NoError(t, err)
			code, out, errOut := runSync(t, b, "-csv", csvPath)
			require.Equal(t, exitError, code)
			lines := planLines(out)
			require.Equal(t, []string{
				`new_groups(idnumber='newdept')`,
				`update_department(idnumber='20240001', attr="department", value="arts")`,
				`update_department(idnumber='20240015', attr="department", value="arts")`,
				`update_department(idnumber='20240022', attr="department", value="newdept")`,
			}, lines[:4])
			require.Contains(t, errOut, "update_department(idnumber='20240015'")
			requireConstraint(t, b, errOut, "no_arts")
			require.Contains(t, errOut, "rolled back")
			require.Equal(t, before, snapshot(t, b.db), "a failed apply left changes behind")
			if b.name == "mysql" {
				_, _, errOut = runSync(t, b, "-csv", csvPath, "-show-values")
				require.Contains(t, errOut, "no_arts")
				require.Equal(t, before, snapshot(t, b.db), "a failed apply left changes behind")
			}
		})
	}
}

// requireConstraint checks that a run's error names the constraint that
// failed. MySQL's error text may quote the row's values: without
// -show-values, only its number and SQLSTATE are shown.
func requireConstraint(t *testing.T, b backend, errOut, name string) {
	t.Helper()
	if b.name == "mysql" {
		require.Contains(t, errOut, "(23000): the message is withheld")
		require.NotContains(t, errOut, name)
		return
	}
	require.Contains(t, errOut, name)
}

// editedCSV renames one user, moves one and deletes one: six actions.
func editedCSV(t *testing.T) string {
	edited := strings.Replace(defaultCSV, `"Okafor, Chidi"`, `"Okafor-Bello, Chidi"`, 1)
	edited = strings.Replace(edited, "astrid.lindqvist@school.example,physics", "astrid.lindqvist@school.example,history", 1)
	edited = strings.Replace(edited, "20240015,\"Nakamura, Haruto\",haruto.nakamura@school.example,history\r\n", "", 1)
	return writeCSV(t, t.TempDir(), edited)
}

// TestPostgresConnectionDies kills the database connection in the middle of
// an apply: the transaction is lost whole, the error says so, and a rerun
// converges.
func TestPostgresConnectionDies(t *testing.T) {
	var pg *backend
	for _, b := range backends(t) {
		if b.name == "postgres" {
			pg = &b
		}
	}
	if pg == nil {
		t.Skip("DSS_TEST_POSTGRES not set: skipping PostgreSQL fault test")
	}
	code, _, errOut := runSync(t, *pg)
	require.Equal(t, exitOK, code, errOut)
	before := snapshot(t, pg.db)

	// The second action of the plan (the move of user 20240008) makes its
	// own backend terminate, as pg_terminate_backend from outside would.
	for _, stmt := range []string{
		`CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$`,
		`CREATE TRIGGER die BEFORE UPDATE ON users FOR EACH ROW
		WHEN (NEW.idnumber = '20240008') EXECUTE FUNCTION die()`,
	} {
		_, err := pg.db.Exec(stmt)
		require.NoError(t, err)
	}
	csvPath := editedCSV(t)
	code, _, errOut = runSync(t, *pg, "-csv", csvPath)
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, "update_department(idnumber='20240008'")
	require.Contains(t, errOut, "terminating connection")
	require.Contains(t, errOut, "is unchanged")
	require.Equal(t, before, snapshot(t, pg.db), "a killed connection left changes behind")

	_, err := pg.db.Exec(`DROP TRIGGER die ON users`)
	require.NoError(t, err)
	code, out, errOut := runSync(t, *pg, "-csv", csvPath)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "applied 6 actions")
	code, out, _ = runSync(t, *pg, "-csv", csvPath)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "nothing to do")
}

// TestSQLiteLocked: another writer holds the database; the apply gives a
// clear error and applies nothing, and a later run converges.
func TestSQLiteLocked(t *testing.T) {
	b := backends(t)[0]
	code, _, errOut := runSync(t, b)
	require.Equal(t, exitOK, code, errOut)
	before := snapshot(t, b.db)

	conn, err := b.db.Conn(context.Background())
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`)
	require.NoError(t, err)
	csvPath := editedCSV(t)
	code, _, errOut = runSync(t, b, "-csv", csvPath, "-busy-timeout", "50ms")
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, "database is locked")
	require.Contains(t, errOut, "is another run holding it?")
	_, err = conn.ExecContext(context.Background(), `ROLLBACK`)
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.Equal(t, before, snapshot(t, b.db))

	code, out, errOut := runSync(t, b, "-csv", csvPath)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "applied 6 actions")
}

// TestDSNPasswordNeverPrinted: a failing PostgreSQL URL is named in the
// error without its password.
func TestDSNPasswordNeverPrinted(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-dsn", "postgres://nobody:s3cret-pw@127.0.0.1:1/nodb?sslmode=disable&connect_timeout=2"}, &stdout, &stderr)
	require.Equal(t, exitError, code)
	require.Contains(t, stderr.String(), "postgres://nobody@127.0.0.1:1/nodb")
	require.NotContains(t, stderr.String()+stdout.String(), "s3cret-pw")
}

// TestDuplicateUserRefused: a user twice in the export fails the run, naming
// both lines, and changes nothing.
func TestDuplicateUserRefused(t *testing.T) {
	b := backends(t)[0]
	csvPath := writeCSV(t, t.TempDir(), defaultCSV+"20240001,\"Okafor, Chidi\",chidi.okafor@school.example,mathematics\r\n")
	code, _, errOut := runSync(t, b, "-csv", csvPath)
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, "users.csv:42: idnumber '20240001': duplicate idnumber (first record for this idnumber: ")
	require.Contains(t, errOut, "users.csv:2)")
	require.Empty(t, snapshot(t, b.db)[0])
}
