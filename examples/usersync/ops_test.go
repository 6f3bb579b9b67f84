package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/datastoresync/dss"
	"github.com/stretchr/testify/require"
)

// TestGuardFlags: the guards refuse a large deletion by default, and the
// flags raise them for one run.
func TestGuardFlags(t *testing.T) {
	b := backends(t)[0]
	code, _, errOut := runSync(t, b)
	require.Equal(t, exitOK, code, errOut)

	// Keep 10 of the 40 users: 30 deletions are 75% of the branch.
	lines := strings.SplitAfter(defaultCSV, "\n")
	kept := writeCSV(t, t.TempDir(), strings.Join(lines[:11], ""))
	code, out, errOut := runSync(t, b, "-csv", kept)
	require.Equal(t, exitError, code, out)
	require.Contains(t, errOut, "the plan has 30 deletes of 40 (75.0%), the limit is 500 or 50%")
	code, _, errOut = runSync(t, b, "-csv", kept, "-max-deletes", "20")
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, "the limit is 20 or 50%")
	code, out, errOut = runSync(t, b, "-csv", kept, "-max-delete-fraction", "0.8")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "applied")
	require.Len(t, snapshot(t, b.db)[0], 10)

	// An export with no users is refused, unless it is said to be right.
	header := writeCSV(t, t.TempDir(), lines[0])
	code, _, errOut = runSync(t, b, "-csv", header, "-max-delete-fraction", "1")
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, "the source branch is empty")
	code, _, errOut = runSync(t, b, "-csv", header, "-max-delete-fraction", "1", "-allow-empty-source")
	require.Equal(t, exitOK, code, errOut)
	require.Empty(t, snapshot(t, b.db)[0])
}

func TestProgressOutput(t *testing.T) {
	require.Nil(t, terminal(&bytes.Buffer{}), "no progress unless stderr is a terminal")
	require.Equal(t, "import source.users: 2048 records (1024/s)",
		progressLine(dss.Progress{Phase: "import", Tree: "source", Branch: "users", Done: 2048, Elapsed: 2 * time.Second}))
	require.Equal(t, "apply: 500 of 1000 actions (250/s), at new_users",
		progressLine(dss.Progress{Phase: "apply", Tree: "dest", Branch: "new_users", Done: 500, Total: 1000, Elapsed: 2 * time.Second}))

	var buf bytes.Buffer
	p := newProgress(&buf)
	p.report(dss.Progress{Phase: "import", Tree: "source", Branch: "users", Done: 1024, Elapsed: time.Second})
	p.report(dss.Progress{Phase: "import", Tree: "source", Branch: "users", Done: 2048, Elapsed: time.Second}) // too soon
	p.report(dss.Progress{Phase: "apply", Tree: "dest", Branch: "new_users", Done: 10, Total: 10, Elapsed: time.Second})
	require.Equal(t, "\r\x1b[Kimport source.users: 1024 records (1024/s)\r\x1b[Kapply: 10 of 10 actions (10/s), at new_users\n", buf.String())
}
