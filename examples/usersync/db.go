package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
	"github.com/datastoresync/dss/dsssql/dsn"

	_ "modernc.org/sqlite" // SQLite, the default database
)

// database is the application's database and its SQL dialect.
type database struct {
	db      *sql.DB
	dialect dsssql.Dialect
	where   string        // the database, for messages: a path or a DSN without its password
	busy    time.Duration // how long to wait for another run's lock
}

// openDatabase opens the database at address when it is set, else the
// SQLite file at path. The address is read by its driver's own parser
// (package dsn), and messages name the database without its password.
func openDatabase(ctx context.Context, path, address string, busy time.Duration) (*database, error) {
	d := &database{busy: busy, dialect: dsssql.SQLite, where: path}
	if address != "" {
		p, err := dsn.Parse(address)
		if err != nil {
			return nil, fmt.Errorf("-dsn: %w", err)
		}
		d.dialect, d.where, d.db = p.Dialect, p.String(), p.OpenDB()
		// The run needs one connection. MySQL's lock (GET_LOCK) is a
		// session's, not a transaction's: every transaction of the run is
		// on that connection, whose end, with the run, frees the lock.
		d.db.SetMaxOpenConns(1)
	} else {
		// Foreign keys are off in SQLite unless asked for; a busy timeout
		// turns a briefly locked database into a wait, not an error; and
		// every transaction begins IMMEDIATE, taking the write lock before
		// it reads, so that two runs never plan against the same rows.
		var err error
		d.db, err = sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=foreign_keys(1)&_pragma=busy_timeout(%d)&_txlock=immediate",
			strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path), busy.Milliseconds()))
		if err != nil {
			return nil, err
		}
	}
	if err := d.db.PingContext(ctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("open %s: %w", d.where, dsn.Redact(err, address))
	}
	return d, nil
}

// schema creates the tables when they are missing. Keys are VARCHAR, which
// MySQL can index (TEXT it cannot). Every foreign key has an index on its
// referencing side, or deleting a user scans every membership to check
// that none refers to it; the primary key's index covers group_idnumber.
// MySQL has no CREATE INDEX IF NOT EXISTS, and InnoDB indexes a foreign key
// by itself; there, tables keep any character and compare keys byte by
// byte, as Go does (utf8mb4_bin).
var schema = []string{
	`CREATE TABLE IF NOT EXISTS users (
		idnumber   VARCHAR(255) PRIMARY KEY,
		name       TEXT NOT NULL,
		email      TEXT NOT NULL,
		department VARCHAR(255) NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS "groups" (idnumber VARCHAR(255) PRIMARY KEY)`,
	`CREATE TABLE IF NOT EXISTS group_members (
		group_idnumber VARCHAR(255) NOT NULL,
		user_idnumber  VARCHAR(255) NOT NULL,
		PRIMARY KEY (group_idnumber, user_idnumber),
		FOREIGN KEY (group_idnumber) REFERENCES "groups" (idnumber),
		FOREIGN KEY (user_idnumber) REFERENCES users (idnumber)
	)`,
	`CREATE INDEX IF NOT EXISTS group_members_user_idnumber ON group_members (user_idnumber)`,
}

// createSchema creates the tables in a transaction of its own, under the
// run's lock: two first runs at once would race to create them.
func (d *database) createSchema(ctx context.Context) error {
	tx, err := d.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range schema {
		if d.dialect == dsssql.MySQL {
			if strings.HasPrefix(stmt, "CREATE INDEX") {
				continue
			}
			stmt = strings.ReplaceAll(stmt, `"groups"`, "`groups`") + " DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin"
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema in %s: %w", d.where, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema in %s: %w", d.where, err)
	}
	return nil
}

// The run's lock: on PostgreSQL an advisory lock, whose second key is the
// hash of the schema the tables are in (runs on other schemas do not
// exclude each other; the first key is any number other programs do not
// use); on MySQL a named lock of the database (a name may have 64
// characters, a database name too), waited for ? seconds: 1 when taken, 0
// when the wait timed out.
const (
	lockKey       = 0x75737273 // "usrs"
	lockStmt      = `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`
	mysqlLockStmt = `SELECT GET_LOCK(CONCAT('usersync:', LEFT(DATABASE(), 55)), ?)`
)

// begin starts a transaction of the run and takes the run's lock, waited
// for at most the busy timeout and held to the commit or rollback: on
// PostgreSQL a transaction-level advisory lock (lock_timeout); on SQLite
// the write lock of BEGIN IMMEDIATE (busy_timeout); on MySQL GET_LOCK,
// held by the run's one connection to the end of the run, and taken again
// (at once) by each transaction, in case the connection was replaced.
func (d *database) begin(ctx context.Context) (*dsssql.Tx, error) {
	tx, err := dsssql.BeginTx(ctx, d.db, nil) // keeps its connection: COPY on PostgreSQL
	if err != nil {
		return nil, fmt.Errorf("begin transaction on %s (is another run holding it?): %w", d.where, err)
	}
	switch d.dialect {
	case dsssql.Postgres:
		_, err = tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, d.busy.Milliseconds()))
		if err == nil {
			_, err = tx.ExecContext(ctx, lockStmt, int32(lockKey))
		}
	case dsssql.MySQL:
		var got sql.NullInt64
		if err = tx.QueryRowContext(ctx, mysqlLockStmt, d.busy.Seconds()).Scan(&got); err == nil && got.Int64 != 1 {
			err = fmt.Errorf("not free after %v (-busy-timeout)", d.busy)
		}
	}
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("lock %s (is another run holding it?): %w", d.where, err)
	}
	return tx, nil
}

// tables maps the destination's branches to the tables, both ways: each
// Mapping imports its branch through tx (one query) and writes its
// branch's actions there in bulk. The run applies the plan through the
// Template they make together.
func (d *database) tables(dest *dss.Tree[Dest], tx *dsssql.Tx, showValues bool) dss.Template {
	users := dsssql.Map(dest.Branches.Users, "users", "idnumber")
	groups := dsssql.Map(dest.Branches.Groups, "groups", "idnumber")
	groups.Lists = map[string]dsssql.Join{
		"members": {Table: "group_members", Owner: "group_idnumber", Member: "user_idnumber"},
	}
	for _, m := range []*dsssql.Mapping{users, groups} {
		// Names and emails stay out of error messages unless asked for.
		m.DB, m.Dialect, m.ShowValues = tx, d.dialect, showValues
	}
	dest.Branches.Users.Importer, dest.Branches.Groups.Importer = users, groups
	return dss.Combine(users, groups)
}
