package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRefusedPlanInEveryMode: a plan the guards refuse is refused by the dry
// run exactly as by the real run, and -out neither writes it nor leaves an
// older plan behind.
func TestRefusedPlanInEveryMode(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			code, _, errOut := runSync(t, b)
			require.Equal(t, exitOK, code, errOut)
			before := snapshot(t, b.db)

			// A header-only export: every user and group would go.
			header := writeCSV(t, t.TempDir(), "idnumber,name,email,department\n")
			code, dryOut, dryErr := runSync(t, b, "-csv", header, "-dry-run", "-detailed-exitcode")
			require.Equal(t, exitError, code, dryOut)
			require.Contains(t, dryOut, "refused: dss: dest.users: refused by the branch's guard: the source branch is empty")
			require.Contains(t, dryErr, "refused by the branch's guard")

			code, _, realErr := runSync(t, b, "-csv", header)
			require.Equal(t, exitError, code)
			require.Equal(t, dryErr, realErr, "the dry run and the real run say the same")
			require.Equal(t, before, snapshot(t, b.db))

			// An older, reviewed plan at -out is removed, not left to apply.
			planPath := filepath.Join(t.TempDir(), "plan.json")
			code, _, errOut = runSync(t, b, "-csv", editedCSV(t), "-out", planPath)
			require.Equal(t, exitOK, code, errOut)
			code, out, _ := runSync(t, b, "-csv", header, "-out", planPath)
			require.Equal(t, exitError, code)
			require.Contains(t, out, "removed the older plan "+planPath)
			_, err := os.Stat(planPath)
			require.ErrorIs(t, err, os.ErrNotExist)
			require.Equal(t, before, snapshot(t, b.db))
		})
	}
}
