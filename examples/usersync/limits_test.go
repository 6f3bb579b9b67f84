package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadLimitsAreUsageErrors: guard limits that mean nothing are refused
// before anything is read or created, naming the flag and its range (issue
// 20, point 4). They used to be printed back as limits: "the limit is 500
// or -50%", "NaN%".
func TestBadLimitsAreUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-max-delete-fraction", "-0.5"}, "usersync: -max-delete-fraction -0.5: want a fraction from 0 (dss's default, 0.5) to 1 (no limit)\n"},
		{[]string{"-max-delete-fraction", "2"}, "usersync: -max-delete-fraction 2: want a fraction from 0 (dss's default, 0.5) to 1 (no limit)\n"},
		{[]string{"-max-delete-fraction", "NaN"}, "usersync: -max-delete-fraction NaN: want a fraction from 0 (dss's default, 0.5) to 1 (no limit)\n"},
		{[]string{"-max-delete-fraction", "+Inf"}, "usersync: -max-delete-fraction +Inf: want a fraction from 0 (dss's default, 0.5) to 1 (no limit)\n"},
		{[]string{"-max-deletes", "-5"}, "usersync: -max-deletes -5: want -1 (no limit), 0 (dss's default) or more\n"},
	}
	for _, tt := range tests {
		t.Run(tt.args[0]+" "+tt.args[1], func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "usersync.db")
			// An export that does not exist: the flags are refused before
			// it would be read.
			args := append([]string{"-db", db, "-csv", filepath.Join(dir, "missing.csv")}, tt.args...)
			code, out, errOut := runSync(t, backend{}, args...)
			require.Equal(t, exitUsage, code)
			require.Empty(t, out)
			require.Equal(t, tt.want, errOut)
			_, err := os.Stat(db)
			require.ErrorIs(t, err, os.ErrNotExist, "the database was opened")
		})
	}
	for _, args := range [][]string{{"-max-deletes", "-1"}, {"-max-delete-fraction", "1"}, {"-max-delete-fraction", "0"}, {"-max-deletes", "0"}} {
		b := backends(t)[0]
		code, _, errOut := runSync(t, b, append(args, "-dry-run")...)
		require.Equal(t, exitOK, code, "%v: %s", args, errOut)
	}
}
