package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// database is the application's database and its SQL dialect.
type database struct {
	db      *sql.DB
	dialect string        // "sqlite", "postgres" or "mysql"
	where   string        // the database, for messages: a path or a DSN without its password
	busy    time.Duration // how long to wait for another run's lock
	// MySQL: the connection that holds the run's lock (GET_LOCK, which
	// belongs to a session, not to a transaction): every transaction of
	// the run is on it, and closing it at the end of the run frees the lock.
	conn *sql.Conn
}

// openDatabase opens the database at dsn when it is set, else the SQLite
// file at path.
func openDatabase(ctx context.Context, path, dsn string, busy time.Duration) (*database, error) {
	d := &database{busy: busy, dialect: "sqlite", where: path}
	if dsn != "" {
		p, err := parseDSN(dsn)
		if err != nil {
			return nil, err
		}
		d.dialect, d.where, d.db = p.dialect, redactDSN(dsn), sql.OpenDB(p.connector)
	} else {
		// Foreign keys are off in SQLite unless asked for; a busy timeout
		// turns a briefly locked database into a wait, not an error; and
		// every transaction begins IMMEDIATE, taking the write lock before
		// it reads, so that two runs never plan against the same rows.
		var err error
		d.db, err = sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=foreign_keys(1)&_pragma=busy_timeout(%d)&_txlock=immediate",
			strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path), busy.Milliseconds()))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", d.where, err)
		}
	}
	if err := d.db.PingContext(ctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("open %s: %w", d.where, redactErr(err, dsn))
	}
	return d, nil
}

// close ends the run's use of the database, and so frees its lock.
func (d *database) close() error {
	if d.conn != nil {
		d.conn.Close()
	}
	return d.db.Close()
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
	// Every foreign key has an index on its referencing side, or deleting
	// a user scans every membership to check that none refers to it. The
	// primary key's index covers group_idnumber, its leading column.
	`CREATE INDEX IF NOT EXISTS group_members_user_idnumber ON group_members (user_idnumber)`,
}

// mysqlSchema is the schema on MySQL and MariaDB. A key is a VARCHAR, which
// an index can hold (TEXT it cannot), compared byte by byte (utf8mb4_bin)
// as Go compares strings; the index on user_idnumber is declared with the
// table, as MySQL has no CREATE INDEX IF NOT EXISTS (InnoDB would make one
// for the foreign key anyway). GROUPS is a reserved word in MySQL 8.
var mysqlSchema = []string{
	`CREATE TABLE IF NOT EXISTS users (
		idnumber   VARCHAR(255) PRIMARY KEY,
		name       TEXT NOT NULL,
		email      TEXT NOT NULL,
		department VARCHAR(255) NOT NULL
	) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
	"CREATE TABLE IF NOT EXISTS `groups` (idnumber VARCHAR(255) PRIMARY KEY) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
	"CREATE TABLE IF NOT EXISTS group_members (" + `
		group_idnumber VARCHAR(255) NOT NULL,
		user_idnumber  VARCHAR(255) NOT NULL,
		PRIMARY KEY (group_idnumber, user_idnumber),
		INDEX group_members_user_idnumber (user_idnumber),
		FOREIGN KEY (group_idnumber) REFERENCES ` + "`groups`" + ` (idnumber),
		FOREIGN KEY (user_idnumber) REFERENCES users (idnumber)
	) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
}

// createSchema creates the tables in a transaction of its own, under the
// run's lock: two first runs at once would race to create them. (MySQL
// commits each CREATE TABLE at once; its lock is the session's.)
func (d *database) createSchema(ctx context.Context) error {
	tx, err := d.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := schema
	if d.dialect == "mysql" {
		stmts = mysqlSchema
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema in %s: %w", d.where, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema in %s: %w", d.where, err)
	}
	return nil
}

// mysqlParam is a numbered placeholder, $1, which MySQL writes ?.
var mysqlParam = regexp.MustCompile(`\$[0-9]+`)

// q writes a statement for the dialect: $1, $2 stay as they are for
// PostgreSQL and become ?1, ?2 for SQLite; for MySQL they become ?, in the
// order they come, and the quoted table name "groups" is quoted `groups`.
func (d *database) q(query string) string {
	switch d.dialect {
	case "sqlite":
		return strings.ReplaceAll(query, "$", "?")
	case "mysql":
		return mysqlParam.ReplaceAllLiteralString(strings.ReplaceAll(query, `"groups"`, "`groups`"), "?")
	}
	return query
}

// lockKey is the PostgreSQL advisory lock that usersync runs take, with
// the hash of the schema its tables are in as the second key: runs on the
// same tables exclude each other, runs on other schemas of the database do
// not. The first key is any number other programs do not use.
const (
	lockKey  = 0x75737273 // "usrs"
	lockStmt = `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`
)

// mysqlLockStmt takes MySQL's named lock for the database's usersync runs
// (a name may have 64 characters; a database name too), waiting at most ?
// seconds: 1 when it is taken, 0 when the wait timed out.
const mysqlLockStmt = `SELECT GET_LOCK(CONCAT('usersync:', LEFT(DATABASE(), 55)), ?)`

// begin starts a transaction of the run and takes the run's lock, held to
// the commit or rollback: on PostgreSQL a transaction-level advisory lock,
// waited for at most the busy timeout (lock_timeout); on SQLite the write
// lock of BEGIN IMMEDIATE, waited for as long (busy_timeout). On MySQL the
// lock (GET_LOCK, waited for as long) is the session's, taken by the
// run's first transaction and held to the end of the run.
func (d *database) begin(ctx context.Context) (*sql.Tx, error) {
	if d.dialect == "mysql" {
		return d.beginMySQL(ctx)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin transaction on %s (is another run holding it?): %w", d.where, err)
	}
	if d.dialect == "postgres" {
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

func (d *database) beginMySQL(ctx context.Context) (*sql.Tx, error) {
	if d.conn == nil {
		conn, err := d.db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", d.where, err)
		}
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, mysqlLockStmt, d.busy.Seconds()).Scan(&got); err != nil || got.Int64 != 1 {
			conn.Close()
			if err == nil {
				err = fmt.Errorf("not free after %v (-busy-timeout)", d.busy)
			}
			return nil, fmt.Errorf("lock %s (is another run holding it?): %w", d.where, err)
		}
		d.conn = conn
	}
	tx, err := d.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin transaction on %s: %w", d.where, err)
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
	groups := dsssql.Query(tx, d.q(`SELECT g.idnumber, m.user_idnumber AS members
		FROM "groups" g LEFT JOIN group_members m ON m.group_idnumber = g.idnumber
		ORDER BY g.idnumber, m.user_idnumber`))
	groups.Name = "groups"
	dest.Branches.Groups.Importer = groups
}

// Template applies actions to the database inside the run's transaction.
// Every method takes the whole batch of consecutive actions with its name,
// so that a first load of 100,000 users is not 100,000 round trips:
//
//   - On PostgreSQL, each table gets one statement per chunk of up to
//     chunkRows rows, whose parameters are arrays, one per column
//     (INSERT ... SELECT FROM unnest($1::text[], ...)).
//   - On SQLite, which runs in the process, inserts write up to
//     sqliteStmtRows rows per statement (INSERT ... VALUES (...), (...)),
//     in chunks of up to sqliteChunkRows rows; deletes and updates are one
//     execution per row of a statement prepared once for the run.
//
// Either way a row that fails is reported as its own action (a
// *dss.BatchError): a chunk whose statement fails is rolled back to a
// savepoint taken before it and written again one row at a time to find
// it.
type Template struct {
	db    *database
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // statements prepared in tx, by query
}

// chunkRows bounds the rows of one PostgreSQL statement, and so the memory
// of its parameters (10,000 users are about a megabyte) and the work of
// finding a failing row (at most as many single-row statements).
const chunkRows = 10_000

// minChunkRows is the fewest rows that PostgreSQL gets in one statement:
// a chunk costs three round trips (SAVEPOINT, the statement, RELEASE), so
// fewer rows are written one by one, on SQLite too. The plan lists an object's updates
// together, so an edit that renames some users and moves others gives
// short alternating runs of update_name and update_department.
const minChunkRows = 4

// On SQLite, a chunk of up to sqliteChunkRows rows (of all the steps of
// its actions) is written between a savepoint and its release, in INSERT
// statements of sqliteStmtRows rows, and the chunk's last rows of each
// step in statements of half as many, and half again, down to one: each
// size is prepared once per run. sqliteStmtRows is a power of two, and its
// rows' parameters (4,096 for users) stay far below SQLite's limit of
// 32,766. Inserting 100,000 users took 0.64-0.75 s one row per statement,
// 0.26-0.34 s 1,024 rows per statement; 1,007 groups with 100,000 members
// 1.19-1.26 s and 0.64-0.66 s (the foreign keys are checked either way);
// 256 and 512 rows were 5-20% slower, 2 shared cores.
const (
	sqliteChunkRows = 8192
	sqliteStmtRows  = 1024
)

// step is one statement of a batch method: the action's rows for one table.
type step struct {
	one  string // the statement for one row: $1, $2, ... are its columns
	many string // PostgreSQL: the statement for many rows: $n is the array of their n-th column
	// insert is, for an INSERT, the statement before its VALUES: SQLite
	// writes many rows in one statement, a row of parameters each.
	insert string
	cols   int
	// member says that the rows are (group, member): an error names the member.
	member bool
	// rows calls add with each of the action's rows for this statement.
	rows func(a dss.Action, add func(row ...string))
}

// NewUsers inserts users.
func (t *Template) NewUsers(ctx context.Context, batch []dss.Action) error {
	return t.write(ctx, batch, step{
		one:    `INSERT INTO users (idnumber, name, email, department) VALUES ($1, $2, $3, $4)`,
		many:   `INSERT INTO users (idnumber, name, email, department) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
		insert: `INSERT INTO users (idnumber, name, email, department)`,
		cols:   4,
		rows: func(a dss.Action, add func(...string)) {
			u := a.Source.(*SourceUser)
			add(u.IDNumber, u.Name, u.Email, u.Department)
		},
	})
}

// OldUsers deletes users. Their memberships were removed by earlier actions.
func (t *Template) OldUsers(ctx context.Context, batch []dss.Action) error {
	return t.write(ctx, batch, step{
		one:  `DELETE FROM users WHERE idnumber = $1`,
		many: `DELETE FROM users WHERE idnumber = ANY($1::text[])`,
		cols: 1,
		rows: func(a dss.Action, add func(...string)) { add(a.ID) },
	})
}

// UpdateName sets users' names.
func (t *Template) UpdateName(ctx context.Context, batch []dss.Action) error {
	return t.write(ctx, batch, updateUsers("name"))
}

// UpdateEmail sets users' email addresses.
func (t *Template) UpdateEmail(ctx context.Context, batch []dss.Action) error {
	return t.write(ctx, batch, updateUsers("email"))
}

// UpdateDepartment sets users' departments.
func (t *Template) UpdateDepartment(ctx context.Context, batch []dss.Action) error {
	return t.write(ctx, batch, updateUsers("department"))
}

// updateUsers is the step that sets column, one of the constant names
// above, to each action's value.
func updateUsers(column string) step {
	return step{
		one:  `UPDATE users SET ` + column + ` = $1 WHERE idnumber = $2`,
		many: `UPDATE users AS u SET ` + column + ` = v.value FROM unnest($2::text[], $1::text[]) AS v (idnumber, value) WHERE u.idnumber = v.idnumber`,
		cols: 2,
		rows: func(a dss.Action, add func(...string)) { add(a.Value.(string), a.ID) },
	}
}

// The steps that add and remove memberships.
var (
	addMembers = step{
		one:    `INSERT INTO group_members (group_idnumber, user_idnumber) VALUES ($1, $2)`,
		many:   `INSERT INTO group_members (group_idnumber, user_idnumber) SELECT * FROM unnest($1::text[], $2::text[])`,
		insert: `INSERT INTO group_members (group_idnumber, user_idnumber)`,
		cols:   2,
	}
	removeMembers = step{
		one:  `DELETE FROM group_members WHERE group_idnumber = $1 AND user_idnumber = $2`,
		many: `DELETE FROM group_members AS m USING unnest($1::text[], $2::text[]) AS v (g, u) WHERE m.group_idnumber = v.g AND m.user_idnumber = v.u`,
		cols: 2,
	}
)

// NewGroups inserts groups, then their members.
func (t *Template) NewGroups(ctx context.Context, batch []dss.Action) error {
	members := addMembers
	members.member = true
	members.rows = func(a dss.Action, add func(...string)) {
		g := a.Source.(*Group)
		for _, m := range g.Members {
			add(g.IDNumber, m)
		}
	}
	return t.write(ctx, batch, step{
		one:    `INSERT INTO "groups" (idnumber) VALUES ($1)`,
		many:   `INSERT INTO "groups" (idnumber) SELECT * FROM unnest($1::text[])`,
		insert: `INSERT INTO "groups" (idnumber)`,
		cols:   1,
		rows:   func(a dss.Action, add func(...string)) { add(a.Source.(*Group).IDNumber) },
	}, members)
}

// OldGroups deletes groups' memberships, then the groups.
func (t *Template) OldGroups(ctx context.Context, batch []dss.Action) error {
	return t.write(ctx, batch, step{
		one:  `DELETE FROM group_members WHERE group_idnumber = $1`,
		many: `DELETE FROM group_members WHERE group_idnumber = ANY($1::text[])`,
		cols: 1,
		rows: func(a dss.Action, add func(...string)) { add(a.ID) },
	}, step{
		one:  `DELETE FROM "groups" WHERE idnumber = $1`,
		many: `DELETE FROM "groups" WHERE idnumber = ANY($1::text[])`,
		cols: 1,
		rows: func(a dss.Action, add func(...string)) { add(a.ID) },
	})
}

// AddMembersToGroups adds members to groups, one per action.
func (t *Template) AddMembersToGroups(ctx context.Context, batch []dss.Action) error {
	s := addMembers
	s.rows = func(a dss.Action, add func(...string)) { add(a.ID, a.Value.(string)) }
	return t.write(ctx, batch, s)
}

// RemoveMembersFromGroups removes members from groups, one per action.
func (t *Template) RemoveMembersFromGroups(ctx context.Context, batch []dss.Action) error {
	s := removeMembers
	s.rows = func(a dss.Action, add func(...string)) { add(a.ID, a.Value.(string)) }
	return t.write(ctx, batch, s)
}

// write applies batch with steps: every step for every action, in order.
func (t *Template) write(ctx context.Context, batch []dss.Action, steps ...step) error {
	limit := chunkRows
	if t.db.dialect != "postgres" {
		if slices.ContainsFunc(steps, func(s step) bool { return s.insert == "" }) {
			return t.eachRow(ctx, batch, 0, steps)
		}
		limit = sqliteChunkRows
	}
	// The columns of each step's rows for the actions batch[start:i].
	cols := make([][][]string, len(steps))
	for k, s := range steps {
		cols[k] = make([][]string, s.cols)
	}
	start, n := 0, 0
	for i, a := range batch {
		for k, s := range steps {
			s.rows(a, func(row ...string) {
				for c, v := range row {
					cols[k][c] = append(cols[k][c], v)
				}
				n++
			})
		}
		if n < limit && i+1 < len(batch) {
			continue
		}
		var err error
		if n < minChunkRows {
			err = t.eachRow(ctx, batch[start:i+1], start, steps)
		} else {
			err = t.chunk(ctx, batch, start, i+1, steps, cols)
		}
		if err != nil {
			return err
		}
		for k := range cols {
			for c := range cols[k] {
				cols[k][c] = cols[k][c][:0]
			}
		}
		start, n = i+1, 0
	}
	return nil
}

// chunk writes the actions batch[start:end], whose rows are in cols: on
// PostgreSQL one statement per step, on SQLite one or more (insertRows).
// When one fails with an error of the statement, it finds the failing
// action by writing them one row at a time.
func (t *Template) chunk(ctx context.Context, batch []dss.Action, start, end int, steps []step, cols [][][]string) error {
	actions := batch[start:end]
	fail := func(err error) error {
		return &dss.BatchError{Index: start, Err: fmt.Errorf("%s: the statement for actions %d to %d of %d, idnumber %q to %q: %w",
			actions[0].Name, start+1, end, len(batch), actions[0].ID, actions[len(actions)-1].ID, err)}
	}
	if _, err := t.tx.ExecContext(ctx, `SAVEPOINT bulk`); err != nil {
		return fail(err)
	}
	for k, s := range steps {
		if len(cols[k][0]) == 0 {
			continue // groups without members
		}
		var err error
		if t.db.dialect == "postgres" {
			args := make([]any, len(cols[k]))
			for c := range cols[k] {
				args[c] = cols[k][c]
			}
			_, err = t.tx.ExecContext(ctx, s.many, args...)
		} else {
			err = t.insertRows(ctx, s, cols[k])
		}
		if err == nil {
			continue
		}
		if !statementError(err) {
			return fail(err) // the connection, the context: no row to blame
		}
		if _, rerr := t.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT bulk`); rerr != nil {
			return fail(fmt.Errorf("%w (and the rollback to the savepoint failed: %v)", err, rerr))
		}
		if rerr := t.eachRow(ctx, actions, start, steps); rerr != nil {
			return rerr
		}
		// Each row alone was fine: the rows fail only together.
		if _, rerr := t.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT bulk`); rerr != nil {
			return fail(fmt.Errorf("%w (and the rollback to the savepoint failed: %v)", err, rerr))
		}
		return fail(err)
	}
	if _, err := t.tx.ExecContext(ctx, `RELEASE SAVEPOINT bulk`); err != nil {
		return fail(err)
	}
	return nil
}

// insertRows writes rows on SQLite, given as columns, with the multi-row
// form of the step's INSERT: sqliteStmtRows rows per statement while that
// many are left, then statements of half as many, and half again.
func (t *Template) insertRows(ctx context.Context, s step, cols [][]string) error {
	n := len(cols[0])
	args := make([]any, 0, min(n, sqliteStmtRows)*len(cols))
	for r := 0; r < n; {
		size := sqliteStmtRows
		for size > n-r {
			size /= 2
		}
		st, err := t.prepare(ctx, insertQuery(s, size))
		if err != nil {
			return err
		}
		args = args[:0]
		for i := r; i < r+size; i++ {
			for _, col := range cols {
				args = append(args, col[i])
			}
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
		r += size
	}
	return nil
}

// insertQuery is the step's INSERT of rows rows: its columns' placeholders
// are ?, bound in order.
func insertQuery(s step, rows int) string {
	row := "(" + strings.Repeat("?, ", s.cols-1) + "?)"
	var b strings.Builder
	b.Grow(len(s.insert) + len(" VALUES ") + rows*(len(row)+2))
	b.WriteString(s.insert)
	b.WriteString(" VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// eachRow writes actions one row at a time, with statements prepared once
// per run; actions[0] is the batch's action number off. A failing row is
// reported as its action.
func (t *Template) eachRow(ctx context.Context, actions []dss.Action, off int, steps []step) error {
	stmts := make([]*sql.Stmt, len(steps))
	for k, s := range steps {
		var err error
		if stmts[k], err = t.prepare(ctx, s.one); err != nil {
			return &dss.BatchError{Index: off, Err: err}
		}
	}
	args := make([]any, 0, 4)
	for i, a := range actions {
		var err error
		for k, s := range steps {
			s.rows(a, func(row ...string) {
				if err != nil {
					return
				}
				args = args[:0]
				for _, v := range row {
					args = append(args, v)
				}
				if _, err = stmts[k].ExecContext(ctx, args...); err != nil {
					err = rowError(err, s.member, row)
				}
			})
			if err != nil {
				return &dss.BatchError{Index: off + i, Err: err}
			}
		}
	}
	return nil
}

// statementError reports whether err is the database's error for one
// statement, after which the transaction can roll back to a savepoint: not
// a lost connection (PostgreSQL's FATAL), a cancelled context (SQLite's
// SQLITE_INTERRUPT), nor a full disk or an I/O error, after which SQLite
// may have rolled the whole transaction back.
func statementError(err error) bool {
	// MySQL: a deadlock rolls the whole transaction back.
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number != 1213 // ER_LOCK_DEADLOCK
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_ERROR, sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH,
			sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	sev := pe.SeverityUnlocalized // PostgreSQL 9.6 and later
	if sev == "" {
		sev = pe.Severity
	}
	return sev == "ERROR"
}

// rowError is the error of a row: for a group's member, it names the
// member; a PostgreSQL error keeps the key it names in its detail (not the
// row a CHECK fails on, which would show names and emails).
func rowError(err error, member bool, row []string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Detail, "Key (") {
		err = fmt.Errorf("%w: %s", err, pe.Detail)
	}
	if member {
		err = fmt.Errorf("member %s: %w", row[1], err)
	}
	return err
}

// prepare returns query prepared in the run's transaction, which closes it.
func (t *Template) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(ctx, t.db.q(query))
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = st
	return st, nil
}
