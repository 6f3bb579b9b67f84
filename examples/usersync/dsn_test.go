package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestDSNPasswordFormsNeverPrinted: usersync, given a DSN it cannot use with a
// password in any form, says so without printing the password, and names
// the host when the DSN parses.
func TestDSNPasswordFormsNeverPrinted(t *testing.T) {
	tests := []struct {
		name, dsn string
		parses    bool
	}{
		{"userinfo", "postgres://nobody:s3cret-pw@127.0.0.1:1/nodb?sslmode=disable&connect_timeout=2", true},
		{"query parameter", "postgres://nobody@127.0.0.1:1/nodb?sslmode=disable&connect_timeout=2&password=S3cret", true},
		{"postgresql scheme, two hosts", "postgresql://nobody:S3cret@127.0.0.1:1,127.0.0.1:2/nodb?sslmode=disable&connect_timeout=2", true},
		{"keyword/value", "host=127.0.0.1 port=1 user=nobody password=S3cret dbname=nodb sslmode=disable connect_timeout=2", true},
		{"keyword/value, quoted", `host=127.0.0.1 port=1 user=nobody password='it\'s a S3cret' dbname=nodb sslmode=disable connect_timeout=2`, true},
		{"mysql", "mysql://nobody:S3cret@127.0.0.1:1/nodb?timeout=2s", true},
		{"refused by pgx", `host=127.0.0.1 port=1 password='it\'s a S3cret' target_session_attrs=bogus`, false},
		{"unparsable, unterminated quote", "host=127.0.0.1 port=1 password='a S3cret", false},
		{"unparsable, unencoded '/'", "postgres://nobody:S3cret/pw@127.0.0.1:1/nodb?connect_timeout=2", false},
		{"mysql, unparsable, unencoded '/'", "mysql://nobody:S3cret/pw@127.0.0.1:1/nodb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-dsn", tt.dsn}, &stdout, &stderr)
			require.Equal(t, exitError, code)
			out := stdout.String() + stderr.String()
			require.NotContains(t, out, "S3cret")
			require.NotContains(t, out, "s3cret-pw")
			if tt.parses {
				require.Contains(t, stderr.String(), "nobody@127.0.0.1:")
			} else {
				require.Contains(t, stderr.String(), "does not parse")
			}
		})
	}
}

// TestMySQLDSNRefused: the reason a mysql:// URL is refused is shown (the
// text the driver read has no password): a bad parameter, no database.
func TestMySQLDSNRefused(t *testing.T) {
	for dsn, want := range map[string]string{
		"mysql://nobody:S3cret@127.0.0.1:1/nodb?timeout=soon": `"soon"`,
		"mysql://nobody:S3cret@127.0.0.1:1/":                  "no database: ",
		"mysql://nobody:S3cret@127.0.0.1:1":                   "no database: ",
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"-dsn", dsn}, &stdout, &stderr)
		require.Equal(t, exitError, code)
		require.Contains(t, stderr.String(), "usersync: -dsn: ")
		require.Contains(t, stderr.String(), want)
		require.NotContains(t, stdout.String()+stderr.String(), "S3cret")
	}
}

// TestDSNPasswordNotInAppliedLine: a run against PostgreSQL with a password
// in the DSN (trust authentication ignores it) names the database in its
// last line without the password.
func TestDSNPasswordNotInAppliedLine(t *testing.T) {
	if os.Getenv("DSS_TEST_POSTGRES") == "" {
		t.Skip("DSS_TEST_POSTGRES not set: skipping PostgreSQL test")
	}
	forms := map[string]func(dsn string) string{
		"query parameter": func(dsn string) string { return dsn + "&password=S3cret" },
		"keyword/value, quoted": func(dsn string) string {
			c, err := pgconn.ParseConfig(dsn)
			require.NoError(t, err)
			return fmt.Sprintf(`host=%s port=%d user=%s dbname=%s search_path=%s password='it\'s a S3cret'`,
				c.Host, c.Port, c.User, c.Database, c.RuntimeParams["search_path"])
		},
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			b, ok := postgresBackend(t)
			require.True(t, ok)
			dsn := form(b.flags[1])
			code, out, errOut := runSync(t, backend{flags: []string{"-dsn", dsn}})
			require.Equal(t, exitOK, code, errOut)
			c, err := pgconn.ParseConfig(dsn)
			require.NoError(t, err)
			require.Contains(t, out, fmt.Sprintf("applied 46 actions to postgres://%s@%s:%d/%s\n", c.User, c.Host, c.Port, c.Database))
			require.NotContains(t, out+errOut, "S3cret")
		})
	}
}
