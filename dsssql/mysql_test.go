package dsssql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// openMySQL creates a database of its own on the server that
// DSS_TEST_MYSQL names (root@tcp(127.0.0.1:3306)/test), and returns it,
// reading times as time.Time (parseTime); the database is dropped when t
// ends.
func openMySQL(t testing.TB) *sql.DB {
	t.Helper()
	dsn := os.Getenv("DSS_TEST_MYSQL")
	if dsn == "" {
		t.Skip("DSS_TEST_MYSQL not set: skipping MySQL tests")
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [8]byte
	rand.Read(b[:])
	name := "dss_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	cfg.ParseTime = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // runs before the database is dropped
	return db
}

// forEachDB is forEachBackend with MySQL too: the Mapping's tests run on
// all three databases.
func forEachDB(t *testing.T, f func(t *testing.T, b backend, db *sql.DB)) {
	t.Helper()
	all := append(backends[:len(backends):len(backends)],
		backend{name: "mysql", kind: "mysql", timestamp: "DATETIME(6)", blob: "BLOB", serial: "BIGINT AUTO_INCREMENT PRIMARY KEY", open: openMySQL})
	for _, b := range all {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b, b.open(t))
		})
	}
}
