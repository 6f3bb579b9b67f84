package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEndToEnd runs the whole benchmark at a tiny N: usersync and this
// program, both built here (not under the race detector, which would make
// SQLite ten times slower), must leave the same tables in every scenario,
// on SQLite, on PostgreSQL when DSS_TEST_POSTGRES is set and on MySQL when
// DSS_TEST_MYSQL is.
func TestEndToEnd(t *testing.T) {
	dbs := "sqlite"
	if os.Getenv("DSS_TEST_POSTGRES") != "" {
		dbs += ",postgres"
	} else {
		t.Log("DSS_TEST_POSTGRES not set: no PostgreSQL")
	}
	if os.Getenv("DSS_TEST_MYSQL") != "" {
		dbs += ",mysql"
	} else {
		t.Log("DSS_TEST_MYSQL not set: no MySQL")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "e2e")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-n", "300", "-runs", "2", "-db", dbs, "-dir", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr:\n%s", stderr.String())
	for db := range strings.SplitSeq(dbs, ",") {
		name := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MySQL"}[db]
		for _, sc := range scenarios {
			require.Contains(t, stdout.String(), "| 300 | "+name+" | "+sc.title+" | ", "stdout:\n%s", stdout.String())
		}
	}
	require.NotContains(t, stdout.String(), "refused")
}

// TestCompareDumps: the check after each pair finds a changed, a missing
// and an extra row.
func TestCompareDumps(t *testing.T) {
	a := []string{"groups\tx", "users\t1\tA B\ta@x\tx"}
	require.NoError(t, compareDumps("a", a, "b", append([]string{}, a...)))
	require.ErrorContains(t, compareDumps("a", a, "b", []string{"groups\tx", "users\t1\tA C\ta@x\tx"}), "sorted row 2")
	require.ErrorContains(t, compareDumps("a", a, "b", a[:1]), "a has 2 rows, b 1")
	require.ErrorContains(t, compareDumps("a", a[:1], "b", a), "a has 1 rows, b 2")
}

// TestChangedExport: the changed export differs from the initial one as
// the README says, at N = 300: users 99 removed, 37 renamed, 137 with a new
// email, 237 moved, and 3 added in dept-new.
func TestChangedExport(t *testing.T) {
	const n = 300
	var removedIDs, renamed, emails, moved []int
	for i := range n {
		u, ok := changedUser(n, i)
		if !ok {
			removedIDs = append(removedIDs, i)
			continue
		}
		o := initialUser(n, i)
		if u.lastFirst != o.lastFirst {
			renamed = append(renamed, i)
		}
		if u.email != o.email {
			emails = append(emails, i)
		}
		if u.department != o.department {
			moved = append(moved, i)
		}
	}
	require.Equal(t, []int{99}, removedIDs)
	require.Equal(t, []int{37}, renamed)
	require.Equal(t, []int{137}, emails)
	require.Equal(t, []int{237}, moved)
	require.Equal(t, 3, added(n))
	u, ok := changedUser(n, n)
	require.True(t, ok)
	require.Equal(t, "dept-new", u.department)
	require.Equal(t, "retired", initialUser(n, 99).department)
}
