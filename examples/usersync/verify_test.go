package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// padNames makes the database keep every name written to users with a space
// added, as a char(n) column or a timestamp that drops its offset keeps
// something other than what was written.
func padNames(t *testing.T, b backend) {
	t.Helper()
	stmts := []string{
		`CREATE TRIGGER pad_insert AFTER INSERT ON users
		BEGIN UPDATE users SET name = name || ' ' WHERE idnumber = NEW.idnumber; END`,
		`CREATE TRIGGER pad_update AFTER UPDATE OF name ON users WHEN NEW.name NOT LIKE '% '
		BEGIN UPDATE users SET name = name || ' ' WHERE idnumber = NEW.idnumber; END`,
	}
	switch b.name {
	case "mysql":
		stmts = []string{
			`CREATE TRIGGER pad_insert BEFORE INSERT ON users FOR EACH ROW SET NEW.name = CONCAT(NEW.name, ' ')`,
			// When the name changes (MySQL has no UPDATE OF name; = ignores
			// trailing spaces, LIKE and lengths do not).
			`CREATE TRIGGER pad_update BEFORE UPDATE ON users FOR EACH ROW
			IF NEW.name NOT LIKE '% ' AND (NEW.name <> OLD.name OR CHAR_LENGTH(NEW.name) <> CHAR_LENGTH(OLD.name))
			THEN SET NEW.name = CONCAT(NEW.name, ' '); END IF`,
		}
	case "postgres":
		stmts = []string{
			`CREATE FUNCTION pad_name() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN NEW.name := NEW.name || ' '; RETURN NEW; END $$`,
			`CREATE TRIGGER pad_name BEFORE INSERT OR UPDATE OF name ON users FOR EACH ROW EXECUTE FUNCTION pad_name()`,
		}
	}
	for _, stmt := range stmts {
		_, err := b.db.Exec(stmt)
		require.NoError(t, err)
	}
}

// keepUsers makes the database ignore the deletion of users, without an
// error, and says whether it could: a MySQL trigger cannot skip a row
// without failing the statement.
func keepUsers(t *testing.T, b backend) bool {
	t.Helper()
	stmts := []string{`CREATE TRIGGER keep_users BEFORE DELETE ON users BEGIN SELECT RAISE(IGNORE); END`}
	switch b.name {
	case "mysql":
		t.Log("MySQL: no trigger can ignore a DELETE without an error; only the name is checked")
		return false
	case "postgres":
		stmts = []string{
			`CREATE FUNCTION keep_users() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
			`CREATE TRIGGER keep_users BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION keep_users()`,
		}
	}
	for _, stmt := range stmts {
		_, err := b.db.Exec(stmt)
		require.NoError(t, err)
	}
	return true
}

// TestVerifyRefusesNonConvergence: a database that does not keep what the
// run writes is found before the commit; the run rolls back, exits 1 and
// names the first change that did not stick, without its value unless
// -show-values; -no-verify commits anyway (issue 10, point 13).
func TestVerifyRefusesNonConvergence(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			code, _, errOut := runSync(t, b, "-dry-run") // creates the tables
			require.Equal(t, exitOK, code, errOut)
			padNames(t, b)
			before := snapshot(t, b.db)

			code, out, errOut := runSync(t, b, "-verbose")
			require.Equal(t, exitError, code, out)
			require.Len(t, planLines(out), 46)
			require.Contains(t, errOut, `after 46 actions were applied, 40 differences are left, the first: `+
				`update_name(idnumber='20240001', attr="name", value=[redacted]);`)
			require.Contains(t, errOut, "rolled back")
			require.NotContains(t, errOut, "Okafor")
			require.Equal(t, before, snapshot(t, b.db), "a run that did not converge committed")

			code, _, errOut = runSync(t, b, "-show-values")
			require.Equal(t, exitError, code)
			require.Contains(t, errOut, `update_name(idnumber='20240001', attr="name", value="Chidi Okafor") (the destination holds "Chidi Okafor ")`)
			require.Equal(t, before, snapshot(t, b.db))

			code, out, errOut = runSync(t, b, "-no-verify")
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "applied 46 actions")
			require.Contains(t, snapshot(t, b.db)[0], "20240001|Chidi Okafor |chidi.okafor@school.example|mathematics")

			// The next run finds the same 40 names to change, and refuses
			// again rather than repeat them silently.
			code, out, errOut = runSync(t, b)
			require.Equal(t, exitError, code, errOut)
			require.Len(t, planLines(out), 40)
			require.Contains(t, errOut, `the first: update_name(idnumber='20240001', attr="name", value=[redacted])`)
		})
	}
}

// TestVerifySavedPlan: a saved plan applied with a plan key has no export
// to compare with; each object it touched must hold what the plan wrote,
// and a user it deleted must be gone.
func TestVerifySavedPlan(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			b.flags = append(slices.Clone(b.flags), keyFlags(t)...)
			planPath := filepath.Join(t.TempDir(), "plan.json")
			code, _, errOut := runSync(t, b)
			require.Equal(t, exitOK, code, errOut)

			// The edited export renames 20240001, moves 20240008 and deletes
			// 20240015; the database keeps every user.
			csvPath := editedCSV(t)
			code, _, errOut = runSync(t, b, "-csv", csvPath, "-out", planPath)
			require.Equal(t, exitOK, code, errOut)
			kept := keepUsers(t, b)
			before := snapshot(t, b.db)
			if kept {
				code, _, errOut = runSync(t, b, "-plan", planPath)
				require.Equal(t, exitError, code)
				require.Contains(t, errOut, `after 6 actions were applied, 1 differences are left, the first: old_users(idnumber='20240015');`)
				require.Contains(t, errOut, "rolled back")
				require.Equal(t, before, snapshot(t, b.db))
			}

			// And a name that does not stick.
			padNames(t, b)
			code, _, errOut = runSync(t, b, "-plan", planPath)
			require.Equal(t, exitError, code)
			left := 1
			if kept {
				left = 2
			}
			require.Contains(t, errOut, fmt.Sprintf(`%d differences are left, the first: update_name(idnumber='20240001', attr="name", value=[redacted]);`, left))
			require.NotContains(t, errOut, "Okafor")
			require.Equal(t, before, snapshot(t, b.db))

			code, out, errOut := runSync(t, b, "-plan", planPath, "-no-verify")
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "applied 6 actions")
			after := snapshot(t, b.db)
			require.Contains(t, after[0], "20240001|Chidi Okafor-Bello |chidi.okafor@school.example|mathematics")
			require.Equal(t, kept, slices.ContainsFunc(after[0], func(r string) bool { return strings.HasPrefix(r, "20240015|") }),
				"the trigger kept the user")
		})
	}
}
