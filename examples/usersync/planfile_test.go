package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// noDepartment is the shipped export with user 20240001 in no department,
// and so in no group: deleting the user breaks no membership.
func noDepartment(t *testing.T, name string) string {
	t.Helper()
	text := strings.Replace(defaultCSV, `"Okafor, Chidi",chidi.okafor@school.example,mathematics`,
		name+`,chidi.okafor@school.example,`, 1)
	require.NotEqual(t, defaultCSV, text)
	return writeCSV(t, t.TempDir(), text)
}

// TestEditedPlanRefused is the exploit of issue 10 end to end: a saved plan
// whose update_name action is renamed old_users was counted as an update by
// the guards and run as a deletion by -plan. The edited file is refused and
// the database is unchanged.
func TestEditedPlanRefused(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			code, _, errOut := runSync(t, b, "-csv", noDepartment(t, `"Okafor, Chidi"`))
			require.Equal(t, exitOK, code, errOut)
			before := snapshot(t, b.db)
			require.Contains(t, before[0], "20240001|Chidi Okafor|chidi.okafor@school.example|")

			planPath := filepath.Join(t.TempDir(), "plan.json")
			code, out, errOut := runSync(t, b, "-csv", noDepartment(t, `"Okafor-Bello, Chidi"`), "-out", planPath)
			require.Equal(t, exitOK, code, errOut)
			require.Equal(t, []string{`update_name(idnumber='20240001', attr="name", value="Chidi Okafor-Bello")`}, planLines(out))

			data, err := os.ReadFile(planPath)
			require.NoError(t, err)
			edited := strings.Replace(string(data), `"name": "update_name"`, `"name": "old_users"`, 1)
			require.NotEqual(t, string(data), edited)
			require.NoError(t, os.WriteFile(planPath, []byte(edited), 0o644))

			code, out, errOut = runSync(t, b, "-plan", planPath)
			require.Equal(t, exitError, code, out)
			require.Contains(t, errOut, `action 1 old_users(idnumber='20240001', attr="name", value=[redacted]): kind update, branch users and attribute "name" make the name update_name, not old_users`)
			require.NotContains(t, out, "applied")
			require.Equal(t, before, snapshot(t, b.db), "the edited plan changed the database")
		})
	}
}

// TestOutWithNothingToDoReplacesOlderPlan is issue 10, point 3: -out with
// nothing to do still writes its (empty) plan, replacing an older plan in
// that file, so that a later -plan of the file does nothing instead of
// applying what the older export said.
func TestOutWithNothingToDoReplacesOlderPlan(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			csvPath := writeCSV(t, dir, defaultCSV)
			code, _, errOut := runSync(t, b, "-csv", csvPath)
			require.Equal(t, exitOK, code, errOut)
			before := snapshot(t, b.db)

			// An older plan, from an export that has since been taken
			// back: it still fits the database, which has not changed.
			planPath := filepath.Join(dir, "plan.json")
			code, out, errOut := runSync(t, b, "-csv", editedCSV(t), "-out", planPath)
			require.Equal(t, exitOK, code, errOut)
			require.Len(t, planLines(out), 6)

			code, out, errOut = runSync(t, b, "-csv", csvPath, "-out", planPath)
			require.Equal(t, exitOK, code, errOut)
			require.Empty(t, planLines(out))
			require.Contains(t, out, "plan written to "+planPath)

			code, out, errOut = runSync(t, b, "-plan", planPath)
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "nothing to do")
			require.Equal(t, before, snapshot(t, b.db), "the older plan was applied")
		})
	}
}
