package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// driverError stands for a driver's error that quotes the DSN and the
// password.
type driverError struct{ text string }

func (e *driverError) Error() string { return e.text }

// TestRedactDSN: every form of password pgx accepts is masked in the
// description of the database and in errors that repeat it, the rest of the
// DSN is still shown, and the error still unwraps to its cause. Every
// password contains "S3cret".
func TestRedactDSN(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		// The password as written and as decoded, as a driver may quote it.
		secrets []string
		// shown is redactDSN's output; empty for a DSN that does not parse.
		shown string
	}{{
		name:    "userinfo, percent-encoded",
		dsn:     "postgres://u:S3cret%2Fpw@db.example:5432/app?sslmode=disable",
		secrets: []string{"S3cret%2Fpw", "S3cret/pw"},
		shown:   "postgres://u:xxxxx@db.example:5432/app?sslmode=disable",
	}, {
		name:    "query parameter",
		dsn:     "postgres://u@db.example/app?sslmode=disable&password=S3cret%20pw&application_name=sync",
		secrets: []string{"S3cret%20pw", "S3cret pw"},
		shown:   "postgres://u@db.example/app?sslmode=disable&password=xxxxx&application_name=sync",
	}, {
		name:    "query parameter with a percent-encoded key, twice",
		dsn:     "postgres://db.example/app?pass%77ord=S3cret1&password=S3cret2",
		secrets: []string{"S3cret1", "S3cret2"},
		shown:   "postgres://db.example/app?pass%77ord=xxxxx&password=xxxxx",
	}, {
		name:    "postgresql scheme, several hosts, userinfo and sslpassword",
		dsn:     "postgresql://u:S3cret@db1.example:5432,db2.example:5433/app?sslpassword=S3cretKey",
		secrets: []string{"S3cret", "S3cretKey"},
		shown:   "postgresql://u:xxxxx@db1.example:5432,db2.example:5433/app?sslpassword=xxxxx",
	}, {
		name:    "IPv6 host",
		dsn:     "postgres://u:S3cret@[::1]:5432/app",
		secrets: []string{"S3cret"},
		shown:   "postgres://u:xxxxx@[::1]:5432/app",
	}, {
		name:    "keyword/value, unquoted",
		dsn:     "host=db.example port=5432 user=u password=S3cret dbname=app",
		secrets: []string{"S3cret"},
		shown:   "host=db.example port=5432 user=u password=xxxxx dbname=app",
	}, {
		name:    "keyword/value, quoted with a space and an escaped quote",
		dsn:     `host=db.example password='it\'s S3cret' dbname = 'app'`,
		secrets: []string{`it\'s S3cret`, `it's S3cret`},
		shown:   `host=db.example password=xxxxx dbname='app'`,
	}, {
		name:    "keyword/value, unquoted with an escaped space",
		dsn:     `host=db.example password=S3cret\ pw dbname=app`,
		secrets: []string{`S3cret\ pw`, `S3cret pw`},
		shown:   `host=db.example password=xxxxx dbname=app`,
	}, {
		name:    "keyword/value, several hosts, sslpassword",
		dsn:     "host=db1.example,db2.example port=5432,5433 password=S3cret sslpassword=S3cretKey dbname=app",
		secrets: []string{"S3cret", "S3cretKey"},
		shown:   "host=db1.example,db2.example port=5432,5433 password=xxxxx sslpassword=xxxxx dbname=app",
	}, {
		name:    "keyword/value, an empty value takes the next word, as in pgx",
		dsn:     "host=db.example dbname=app password= S3cret",
		secrets: []string{"S3cret"},
		shown:   "host=db.example dbname=app password=xxxxx",
	}, {
		name:    "keyword/value, upper case: not a password to pgx, masked all the same",
		dsn:     "host=db.example dbname=app PASSWORD=S3cret",
		secrets: []string{"S3cret"},
		shown:   "host=db.example dbname=app PASSWORD=xxxxx",
	}, {
		name:    "unparsable: unterminated quote",
		dsn:     "host=db.example dbname=app password='a S3cret",
		secrets: []string{"'a S3cret", "a S3cret"},
	}, {
		name:    "unparsable: an unencoded '/' in the password, pgx reads a port",
		dsn:     "postgres://u:S3cret/pw@db.example/app",
		secrets: []string{"S3cret/pw", "S3cret"},
	}, {
		name:    "unparsable: an unencoded '/' in a numeric password, pgx reads a database",
		dsn:     "postgres://u:1234/S3cret@db.example/app",
		secrets: []string{"1234/S3cret", "S3cret"},
	}, {
		name:    "unparsable: a word without '='",
		dsn:     "host=db.example dbname=app password=a S3cret",
		secrets: []string{"a S3cret"},
	}, {
		name:    "unparsable: a bad percent-encoding",
		dsn:     "postgres://u:S3cret%zz@db.example/app",
		secrets: []string{"S3cret%zz"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			where := redactDSN(tt.dsn)
			require.NotContains(t, where, "S3cret")
			if tt.shown != "" {
				require.Equal(t, tt.shown, where) // hosts, ports, database and parameters as written
			} else {
				require.Equal(t, "(a DSN that does not parse, not shown)", where)
			}

			cause := &driverError{fmt.Sprintf("cannot connect to %s (password %s)", tt.dsn, strings.Join(tt.secrets, ", "))}
			err := fmt.Errorf("ping: %w", redactErr(cause, tt.dsn))
			require.NotContains(t, err.Error(), "S3cret")
			require.ErrorIs(t, err, cause)
			var de *driverError
			require.ErrorAs(t, err, &de)
			if tt.shown != "" {
				require.Equal(t, fmt.Sprintf("ping: cannot connect to %s (password %s)", tt.shown,
					strings.TrimSuffix(strings.Repeat("xxxxx, ", len(tt.secrets)), ", ")), err.Error())
			} else {
				require.Contains(t, err.Error(), "the DSN does not parse: ")
				require.Contains(t, err.Error(), "at byte ")
			}
		})
	}
}

// TestRedactErrParseConfigError: pgx quotes a DSN it refuses with its own
// masking, which leaves part of a quoted password with an escaped quote and a
// space; redactErr shows our masking and keeps pgx's reason and error type.
func TestRedactErrParseConfigError(t *testing.T) {
	dsn := `host=127.0.0.1 password='it\'s a S3cret' target_session_attrs=bogus`
	_, cause := pgconn.ParseConfig(dsn)
	require.Error(t, cause)
	err := redactErr(cause, dsn)
	require.NotContains(t, err.Error(), "S3cret")
	require.Equal(t, "cannot parse `host=127.0.0.1 password=xxxxx target_session_attrs=bogus`: unknown target_session_attrs value: bogus", err.Error())
	var pce *pgconn.ParseConfigError
	require.ErrorAs(t, err, &pce)
	require.ErrorIs(t, err, cause)

	// Redacting again, as a caller further up may, changes nothing.
	again := redactErr(fmt.Errorf("open: %w", err), dsn)
	require.Equal(t, "open: "+err.Error(), again.Error())
}

// TestRedactErrUntouched: an error that does not repeat the password is
// returned as it is.
func TestRedactErrUntouched(t *testing.T) {
	cause := errors.New("connection refused")
	require.Same(t, cause, redactErr(cause, "host=h password=S3cret"))
	require.Same(t, cause, redactErr(cause, "postgres://u:S3cret@h/db"))
	require.NoError(t, redactErr(nil, "host=h password=S3cret"))
}

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
		{"keyword/value, quoted", `host=127.0.0.1 port=1 password='it\'s a S3cret' dbname=nodb sslmode=disable connect_timeout=2`, true},
		{"refused by pgx", `host=127.0.0.1 port=1 password='it\'s a S3cret' target_session_attrs=bogus`, true},
		{"unparsable, unterminated quote", "host=127.0.0.1 port=1 password='a S3cret", false},
		{"unparsable, unencoded '/'", "postgres://nobody:S3cret/pw@127.0.0.1:1/nodb?connect_timeout=2", false},
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
				require.Contains(t, stderr.String(), "127.0.0.1")
				require.Contains(t, stderr.String(), "xxxxx")
			} else {
				require.Contains(t, stderr.String(), "does not parse")
			}
		})
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
			b := backends(t)[1]
			require.Equal(t, "-dsn", b.flags[0])
			dsn := form(b.flags[1])
			code, out, errOut := runSync(t, backend{flags: []string{"-dsn", dsn}})
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "applied 46 actions to "+redactDSN(dsn)+"\n")
			require.Contains(t, out, "password=xxxxx")
			require.NotContains(t, out+errOut, "S3cret")
		})
	}
}

// FuzzRedactDSN: whenever pgx reads a password from a DSN that parseDSN
// takes apart, parseDSN counts that password among the secrets it masks.
func FuzzRedactDSN(f *testing.F) {
	// The password must come from the DSN alone.
	f.Setenv("PGPASSWORD", "")
	f.Setenv("PGPASSFILE", "/nonexistent")
	f.Setenv("PGSERVICE", "")
	for _, seed := range []string{
		"postgres://u:S3cret%2Fpw@db.example:5432/app?sslmode=disable",
		"postgres://u@db.example/app?password=S3cret%20pw",
		"postgres://db.example/app?pass%77ord=S3cret1&password=S3cret2",
		"postgresql://u:S3cret@db1.example:5432,db2.example:5433/app",
		"postgres://u:S3cret@[::1]:5432/app",
		"postgres://u:p:q@h/db",
		"postgres://u: S3cret @h/db",
		"postgres://h/db?password= S3cret ",
		"host=db.example port=5432 user=u password=S3cret dbname=app",
		`host=db.example password='it\'s S3cret' dbname = 'app'`,
		`host=db.example password=S3cret\ pw dbname=app`,
		`password=S3cret\`,
		"host=db.example dbname=app password= S3cret",
		"password = 'a b' password=c",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		p, err := parseDSN(dsn) // must not panic, whatever dsn is
		if err != nil || strings.Contains(dsn, "passfile") || strings.Contains(dsn, "service") {
			return
		}
		config, err := pgconn.ParseConfig(dsn)
		if err != nil || config.Password == "" {
			return
		}
		require.Contains(t, p.secrets, config.Password, "shown as %q", p.shown)
	})
}

// TestRedactDSNControlCharacters: a DSN is shown on one printable line.
func TestRedactDSNControlCharacters(t *testing.T) {
	got := redactDSN("host=127.0.0.1 application_name='a\nb\x1b[8m' password=S3cret dbname=x")
	require.NotContains(t, got, "S3cret")
	require.NotContains(t, got, "\n")
	require.NotContains(t, got, "\x1b")
	require.Contains(t, got, `\n`)
}
