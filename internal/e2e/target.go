package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// A target is one fresh database that one program syncs: a new SQLite file,
// a new PostgreSQL schema that the DSN's search_path selects, or a new
// MySQL database.
type target struct {
	path   string // SQLite
	dsn    string // PostgreSQL: the benchmark's DSN with search_path; MySQL: a mysql:// URL
	schema string // PostgreSQL: the schema; MySQL: the database
	kind   string // "sqlite", "postgres" or "mysql"
}

// flags are the flags that point usersync, or the baseline, at the target.
func (t *target) flags() []string {
	if t.dsn != "" {
		return []string{"-dsn", t.dsn}
	}
	return []string{"-db", t.path}
}

func (t *target) String() string {
	switch t.kind {
	case "postgres":
		return "PostgreSQL schema " + t.schema
	case "mysql":
		return "MySQL database " + t.schema
	}
	return t.path
}

// targets makes fresh targets of one kind: SQLite files in dir, PostgreSQL
// schemas in the database at dsn, or MySQL databases on the server at dsn
// (the driver's DSN), through admin.
type targets struct {
	kind  string // "sqlite", "postgres" or "mysql"
	dir   string
	dsn   string
	admin *sql.DB
	seq   int
}

func (ts *targets) postgres() bool { return ts.kind == "postgres" }

func (ts *targets) fresh(ctx context.Context) (*target, error) {
	ts.seq++
	switch ts.kind {
	case "sqlite":
		path := filepath.Join(ts.dir, fmt.Sprintf("e2e-%d.db", ts.seq))
		if err := removeSQLite(path); err != nil {
			return nil, err
		}
		return &target{path: path, kind: ts.kind}, nil
	case "mysql":
		name := fmt.Sprintf("e2e_%d_%d", os.Getpid(), ts.seq)
		if _, err := ts.admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
			return nil, fmt.Errorf("create database %s: %w", name, err)
		}
		c, err := mysql.ParseDSN(ts.dsn)
		if err != nil {
			return nil, err
		}
		u := url.URL{Scheme: "mysql", User: url.UserPassword(c.User, c.Passwd), Host: c.Addr, Path: "/" + name}
		if c.Passwd == "" {
			u.User = url.User(c.User)
		}
		return &target{dsn: u.String(), schema: name, kind: ts.kind}, nil
	}
	schema := fmt.Sprintf("e2e_%d_%d", os.Getpid(), ts.seq)
	if _, err := ts.admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	u, err := url.Parse(ts.dsn)
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL DSN must be a URL (postgres://...): %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return &target{dsn: u.String(), schema: schema, kind: ts.kind}, nil
}

// drop removes the target.
func (ts *targets) drop(ctx context.Context, t *target) error {
	switch ts.kind {
	case "sqlite":
		return removeSQLite(t.path)
	case "mysql":
		_, err := ts.admin.ExecContext(ctx, `DROP DATABASE `+t.schema)
		return err
	}
	_, err := ts.admin.ExecContext(ctx, `DROP SCHEMA `+t.schema+` CASCADE`)
	return err
}

func removeSQLite(path string) error {
	for _, p := range []string{path, path + "-journal", path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// settle makes a prepared PostgreSQL target's state the same for every
// program: the tables vacuumed and analyzed now, so that autovacuum does not
// pick them up in the middle of a measured run.
func (ts *targets) settle(ctx context.Context, t *target) error {
	if !ts.postgres() {
		return nil
	}
	for _, table := range []string{"users", `"groups"`, "group_members"} {
		if _, err := ts.admin.ExecContext(ctx, `VACUUM ANALYZE `+t.schema+`.`+table); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return nil
}

// usersyncLock is the first key of the PostgreSQL advisory lock that
// usersync takes, the hash of the schema its tables are in the second
// (lockKey in examples/usersync/db.go).
const usersyncLock = 0x75737273

// waitForUsersyncLock waits, in the server, until no usersync run holds its
// lock on the database.
func (ts *targets) waitForUsersyncLock(ctx context.Context, t *target) error {
	conn, err := ts.admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, int32(usersyncLock), t.schema); err != nil {
		return fmt.Errorf("waiting for usersync's lock: %w", err)
	}
	_, err = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, int32(usersyncLock), t.schema)
	return err
}

// dump reads the three tables of the target, every row as one line, sorted.
func (ts *targets) dump(ctx context.Context, t *target) ([]string, error) {
	db := ts.admin
	prefix, groups := t.schema+".", `"groups"`
	if ts.kind == "mysql" {
		groups = "`groups`"
	}
	if ts.kind == "sqlite" {
		var err error
		if db, err = sql.Open("sqlite", sqliteDSN(t.path)); err != nil {
			return nil, err
		}
		defer db.Close()
		prefix = ""
	}
	var lines []string
	for _, q := range []string{
		`SELECT 'users', idnumber, name, email, department FROM ` + prefix + `users`,
		`SELECT 'groups', idnumber FROM ` + prefix + groups,
		`SELECT 'group_members', group_idnumber, user_idnumber FROM ` + prefix + `group_members`,
	} {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		cols, _ := rows.Columns()
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("%s: %w", t, err)
			}
			lines = append(lines, strings.Join(vals, "\t"))
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	slices.Sort(lines)
	return lines, nil
}

// compareDumps says where two dumps differ, or returns nil.
func compareDumps(aName string, a []string, bName string, b []string) error {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Errorf("the tables differ at sorted row %d:\n  %s: %q\n  %s: %q", i+1, aName, a[i], bName, b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("the tables differ: %s has %d rows, %s %d", aName, len(a), bName, len(b))
	}
	return nil
}

// countUsers counts the users rows in a dump.
func countUsers(dump []string) int {
	n := 0
	for _, line := range dump {
		if strings.HasPrefix(line, "users\t") {
			n++
		}
	}
	return n
}
