package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// export writes a CSV export of 60 users, ids from first on, whose names and
// emails carry the export's tag, and returns its path and the users table
// it should leave, as "idnumber|name|email|department" rows.
func export(t *testing.T, dir, tag string, first int) (string, []string) {
	t.Helper()
	var text strings.Builder
	text.WriteString("idnumber,name,email,department\n")
	var rows []string
	for i := first; i < first+60; i++ {
		id := fmt.Sprintf("2024%04d", i)
		dept := []string{"arts", "history", "physics"}[i%3] // the same in both exports
		fmt.Fprintf(&text, "%s,\"%s, User %d\",%d@%s.example,%s\n", id, tag, i, i, tag, dept)
		rows = append(rows, fmt.Sprintf("%s|User %d %s|%d@%s.example|%s", id, i, tag, i, tag, dept))
	}
	path := filepath.Join(dir, tag+".csv")
	require.NoError(t, os.WriteFile(path, []byte(text.String()), 0o644))
	slices.Sort(rows)
	return path, rows
}

// TestConcurrentRuns: two runs at once with different exports end with
// exactly one export applied, never a mix, and the other run sees the first
// one's result. Repeated, on every backend.
func TestConcurrentRuns(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			pathA, rowsA := export(t, dir, "alpha", 0)
			pathB, rowsB := export(t, dir, "beta", 10) // 50 users in common
			for i := range 20 {
				for _, q := range []string{`DELETE FROM group_members`, `DELETE FROM "groups"`, `DELETE FROM users`} {
					if _, err := b.db.Exec(q); err != nil && !strings.Contains(err.Error(), "no such table") &&
						!strings.Contains(err.Error(), "does not exist") && !strings.Contains(err.Error(), "doesn't exist") {
						require.NoError(t, err)
					}
				}
				var wg sync.WaitGroup
				for _, path := range []string{pathA, pathB} {
					wg.Go(func() {
						code, _, errOut := runSync(t, b, "-csv", path, "-busy-timeout", "60s")
						assert.Equal(t, exitOK, code, "round %d, %s: %s", i, path, errOut)
					})
				}
				wg.Wait()
				if t.Failed() {
					return
				}
				users := snapshot(t, b.db)[0]
				var path string
				switch {
				case slices.Equal(users, rowsA):
					path = pathA
				case slices.Equal(users, rowsB):
					path = pathB
				default:
					t.Fatalf("round %d: the users table is neither export:\n%s", i, strings.Join(users, "\n"))
				}
				code, out, errOut := runSync(t, b, "-csv", path, "-dry-run", "-detailed-exitcode")
				require.Equal(t, exitOK, code, "round %d: a dry run with the applied export has changes:\n%s%s", i, out, errOut)
			}
		})
	}
}

// TestLockTimeout: a run that cannot get the lock in time fails and
// changes nothing.
func TestLockTimeout(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			code, _, errOut := runSync(t, b)
			require.Equal(t, exitOK, code, errOut)
			before := snapshot(t, b.db)
			ctx := context.Background()
			conn, err := b.db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			switch b.name {
			case "postgres":
				_, err = conn.ExecContext(ctx, `BEGIN`)
				require.NoError(t, err)
				_, err = conn.ExecContext(ctx, lockStmt, int32(lockKey))
			case "mysql":
				var got int
				// The run before has closed its connection, but the server
				// frees a session's named locks when it gets to the
				// disconnect: wait for that, as a second run would.
				require.NoError(t, conn.QueryRowContext(ctx, mysqlLockStmt, 30).Scan(&got))
				require.Equal(t, 1, got)
				_, err = conn.ExecContext(ctx, `BEGIN`)
			default:
				_, err = conn.ExecContext(ctx, `BEGIN IMMEDIATE`)
			}
			require.NoError(t, err)
			code, _, errOut = runSync(t, b, "-csv", editedCSV(t), "-busy-timeout", "100ms")
			require.Equal(t, exitError, code)
			require.Contains(t, errOut, "is another run holding it?")
			_, err = conn.ExecContext(ctx, `ROLLBACK`)
			require.NoError(t, err)
			require.Equal(t, before, snapshot(t, b.db))
		})
	}
}

// TestMySQLConnectionDies kills the run's MySQL connection in the middle of
// an apply, while a trigger holds it inside the second action: the
// transaction is lost whole, the error names the action, and a rerun
// converges.
func TestMySQLConnectionDies(t *testing.T) {
	b, ok := mysqlBackend(t)
	if !ok {
		t.Skip("DSS_TEST_MYSQL not set: skipping MySQL fault test")
	}
	code, _, errOut := runSync(t, b)
	require.Equal(t, exitOK, code, errOut)
	before := snapshot(t, b.db)
	ctx := context.Background()

	// The update of user 20240008 waits in a trigger for a lock that the
	// test holds, named after the database, until the test kills it.
	var name string
	require.NoError(t, b.db.QueryRow(`SELECT DATABASE()`).Scan(&name))
	hold, err := b.db.Conn(ctx)
	require.NoError(t, err)
	defer hold.Close()
	var got int
	require.NoError(t, hold.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, name).Scan(&got))
	require.Equal(t, 1, got)
	_, err = b.db.Exec(`CREATE TRIGGER wait_20240008 BEFORE UPDATE ON users FOR EACH ROW
		IF NEW.idnumber = '20240008' THEN DO GET_LOCK(DATABASE(), 60); END IF`)
	require.NoError(t, err)

	type result struct {
		code   int
		errOut string
	}
	done := make(chan result, 1)
	csvPath := editedCSV(t)
	go func() {
		code, _, errOut := runSync(t, b, "-csv", csvPath)
		done <- result{code, errOut}
	}()
	// The run's connection is the one waiting for the lock.
	var id int64
	for deadline := time.Now().Add(30 * time.Second); id == 0; {
		err := b.db.QueryRow(`SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND state = 'User lock'`).Scan(&id)
		if err != nil && err != sql.ErrNoRows {
			require.NoError(t, err)
		}
		require.True(t, time.Now().Before(deadline), "the run never reached the trigger")
		runtime.Gosched()
	}
	_, err = b.db.Exec(fmt.Sprintf(`KILL %d`, id))
	require.NoError(t, err)
	res := <-done
	require.Equal(t, exitError, res.code)
	require.Contains(t, res.errOut, "update_department(idnumber='20240008'")
	require.Contains(t, res.errOut, "invalid connection")
	require.Contains(t, res.errOut, "is unchanged")
	_, err = hold.ExecContext(ctx, `DO RELEASE_LOCK(?)`, name)
	require.NoError(t, err)
	require.Equal(t, before, snapshot(t, b.db), "a killed connection left changes behind")

	_, err = b.db.Exec(`DROP TRIGGER wait_20240008`)
	require.NoError(t, err)
	code, out, errOut := runSync(t, b, "-csv", csvPath)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "applied 6 actions")
	code, out, _ = runSync(t, b, "-csv", csvPath)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "nothing to do")
}
