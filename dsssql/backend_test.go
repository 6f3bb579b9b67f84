package dsssql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// backend is one database the tests run against.
type backend struct {
	name string
	// timestamp is the column type of a point in time.
	timestamp string
	// blob is the column type of bytes.
	blob string
	// open returns a database of its own, empty, removed when t ends.
	open func(t *testing.T) *sql.DB
}

var backends = []backend{
	{name: "sqlite", timestamp: "TIMESTAMP", blob: "BLOB", open: openSQLite},
	{name: "postgres", timestamp: "TIMESTAMPTZ", blob: "BYTEA", open: openPostgres},
}

// forEachBackend runs f as a subtest against each backend, with a new,
// empty database.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend, db *sql.DB)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b, b.open(t))
		})
	}
}

// openSQLite opens a file database in t's temporary directory, so that every
// pooled connection sees the same data.
func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", t.TempDir()+"/test.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres creates a schema of its own on the server that
// DSS_TEST_POSTGRES names, and returns a database whose connections all use
// it; the schema is dropped when t ends.
func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	dsn := os.Getenv("DSS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("DSS_TEST_POSTGRES not set: skipping PostgreSQL tests")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [8]byte
	rand.Read(b[:])
	schema := "dss_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() }) // runs before the schema is dropped
	return db
}

// exec runs each statement, failing t on the first error.
func exec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
