package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, for -dsn postgres://...
	_ "modernc.org/sqlite"             // SQLite without cgo, the default
)

// database is the application's database and its SQL dialect.
type database struct {
	db       *sql.DB
	postgres bool
	where    string        // the database, for messages: a path or a DSN without its password
	busy     time.Duration // how long to wait for another run's lock
}

// openDatabase opens PostgreSQL when dsn is set, else the SQLite file at path.
func openDatabase(ctx context.Context, path, dsn string, busy time.Duration) (*database, error) {
	d := &database{busy: busy}
	var err error
	if dsn != "" {
		d.postgres, d.where = true, redactDSN(dsn)
		d.db, err = sql.Open("pgx", dsn)
	} else {
		d.where = path
		// Foreign keys are off in SQLite unless asked for; a busy timeout
		// turns a briefly locked database into a wait, not an error; and
		// every transaction begins IMMEDIATE, taking the write lock before
		// it reads, so that two runs never plan against the same rows.
		d.db, err = sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=foreign_keys(1)&_pragma=busy_timeout(%d)&_txlock=immediate",
			strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path), busy.Milliseconds()))
	}
	if err == nil {
		err = d.db.PingContext(ctx)
	}
	if err != nil {
		if d.db != nil {
			d.db.Close()
		}
		return nil, fmt.Errorf("open %s: %w", d.where, redactErr(err, dsn))
	}
	return d, nil
}

// schema creates the tables when they are missing.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS users (
		idnumber   TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		email      TEXT NOT NULL,
		department TEXT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS "groups" (
		idnumber TEXT PRIMARY KEY
	)`,
	`CREATE TABLE IF NOT EXISTS group_members (
		group_idnumber TEXT NOT NULL REFERENCES "groups" (idnumber),
		user_idnumber  TEXT NOT NULL REFERENCES users (idnumber),
		PRIMARY KEY (group_idnumber, user_idnumber)
	)`,
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
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema in %s: %w", d.where, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema in %s: %w", d.where, err)
	}
	return nil
}

// q writes a statement's placeholders for the dialect: $1, $2 stay as they
// are for PostgreSQL and become ?1, ?2 for SQLite.
func (d *database) q(query string) string {
	if d.postgres {
		return query
	}
	return strings.ReplaceAll(query, "$", "?")
}

// lockKey is the PostgreSQL advisory lock that usersync runs take, with
// the hash of the schema its tables are in as the second key: runs on the
// same tables exclude each other, runs on other schemas of the database do
// not. The first key is any number other programs do not use.
const (
	lockKey  = 0x75737273 // "usrs"
	lockStmt = `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`
)

// begin starts the run's transaction and takes the run's lock in it, held
// to the commit or rollback: on PostgreSQL a transaction-level advisory
// lock, waited for at most the busy timeout (lock_timeout); on SQLite the
// write lock of BEGIN IMMEDIATE, waited for as long (busy_timeout).
func (d *database) begin(ctx context.Context) (*sql.Tx, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin transaction on %s (is another run holding it?): %w", d.where, err)
	}
	if d.postgres {
		_, err = tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, d.busy.Milliseconds()))
		if err == nil {
			_, err = tx.ExecContext(ctx, lockStmt, int32(lockKey))
		}
		if err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("lock %s (is another run holding it?): %w", d.where, err)
		}
	}
	return tx, nil
}

// importers sets the destination tree's importers, which read through the
// run's transaction: values are read as parameters and columns by name;
// nothing is spliced into SQL text.
func (d *database) importers(dest *dss.Tree[Dest], tx *sql.Tx) {
	users := dsssql.Query(tx, `SELECT idnumber, name, email, department FROM users ORDER BY idnumber`)
	users.Name = "users"
	dest.Branches.Users.Importer = users
	// One row per membership; a group without members gives one row with a
	// NULL member, which is an empty list.
	groups := dsssql.Query(tx, `SELECT g.idnumber, m.user_idnumber AS members
		FROM "groups" g LEFT JOIN group_members m ON m.group_idnumber = g.idnumber
		ORDER BY g.idnumber, m.user_idnumber`)
	groups.Name = "groups"
	dest.Branches.Groups.Importer = groups
}

// Template applies actions to the database inside one transaction: one
// method per action the plan can hold.
type Template struct {
	db *database
	tx *sql.Tx
}

func (t *Template) exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, t.db.q(query), args...)
	return err
}

// NewUsers inserts a user.
func (t *Template) NewUsers(ctx context.Context, a dss.Action) error {
	u := a.Source.(*SourceUser)
	return t.exec(ctx, `INSERT INTO users (idnumber, name, email, department) VALUES ($1, $2, $3, $4)`,
		u.IDNumber, u.Name, u.Email, u.Department)
}

// OldUsers deletes a user. Its memberships were removed by earlier actions.
func (t *Template) OldUsers(ctx context.Context, a dss.Action) error {
	return t.exec(ctx, `DELETE FROM users WHERE idnumber = $1`, a.ID)
}

// UpdateName sets a user's name.
func (t *Template) UpdateName(ctx context.Context, a dss.Action) error {
	return t.exec(ctx, `UPDATE users SET name = $1 WHERE idnumber = $2`, a.Value, a.ID)
}

// UpdateEmail sets a user's email address.
func (t *Template) UpdateEmail(ctx context.Context, a dss.Action) error {
	return t.exec(ctx, `UPDATE users SET email = $1 WHERE idnumber = $2`, a.Value, a.ID)
}

// UpdateDepartment sets a user's department.
func (t *Template) UpdateDepartment(ctx context.Context, a dss.Action) error {
	return t.exec(ctx, `UPDATE users SET department = $1 WHERE idnumber = $2`, a.Value, a.ID)
}

// NewGroups inserts a group with its members.
func (t *Template) NewGroups(ctx context.Context, a dss.Action) error {
	g := a.Source.(*Group)
	if err := t.exec(ctx, `INSERT INTO "groups" (idnumber) VALUES ($1)`, g.IDNumber); err != nil {
		return err
	}
	for _, m := range g.Members {
		if err := t.exec(ctx, `INSERT INTO group_members (group_idnumber, user_idnumber) VALUES ($1, $2)`, g.IDNumber, m); err != nil {
			return fmt.Errorf("member %s: %w", m, err)
		}
	}
	return nil
}

// OldGroups deletes a group and its memberships.
func (t *Template) OldGroups(ctx context.Context, a dss.Action) error {
	if err := t.exec(ctx, `DELETE FROM group_members WHERE group_idnumber = $1`, a.ID); err != nil {
		return err
	}
	return t.exec(ctx, `DELETE FROM "groups" WHERE idnumber = $1`, a.ID)
}

// AddMembersToGroups adds one member to a group.
func (t *Template) AddMembersToGroups(ctx context.Context, a dss.Action) error {
	return t.exec(ctx, `INSERT INTO group_members (group_idnumber, user_idnumber) VALUES ($1, $2)`, a.ID, a.Value)
}

// RemoveMembersFromGroups removes one member from a group.
func (t *Template) RemoveMembersFromGroups(ctx context.Context, a dss.Action) error {
	return t.exec(ctx, `DELETE FROM group_members WHERE group_idnumber = $1 AND user_idnumber = $2`, a.ID, a.Value)
}
