// Package dsssql imports dss branches from SQL databases through
// database/sql, and writes them back with Mapping.
//
// Query runs one query and yields each row as a dss.Record keyed by column
// name, with values as the driver returns them and NULL as nil; the dss core
// converts them to the object's field types and accumulates list fields
// across rows that share an idnumber, so a JOIN with one row per membership
// becomes one group with all its members:
//
//	dest.Branches.Users.Importer = dsssql.Query(db,
//		`SELECT idnumber, name, email FROM users WHERE active = $1`, true)
//	dest.Branches.Groups.Importer = dsssql.Query(db,
//		`SELECT g.idnumber, m.user_id AS members
//		   FROM groups g LEFT JOIN group_members m ON m.group_id = g.idnumber`)
//
// Values are always passed as query parameters, never spliced into the text.
// Identifiers that come from configuration, such as a table name, go through
// QuoteIdentifier, or Table, which quotes them itself.
//
// # Tables declared once
//
// A Mapping stores a destination branch in a table, both ways: it is the
// branch's Importer (one query of the rows the sync owns, yielded as rows
// of text when every column is text) and the Template of the branch's
// actions, which it writes in bulk inside the run's transaction. Declare it
// once with Map: the table, the column that holds the idnumber, and, where
// the schema differs from the object, renames:
//
//	users := dsssql.Map(dest.Branches.Users, "users", "idnumber")
//	users.Columns = map[string]string{"email": "mail"} // attribute -> column
//	dest.Branches.Users.Importer = users
//
// Each run hands the Mapping its transaction in the DB field, then
// imports, plans and applies as usual, with the Mappings combined into one
// Template and the program's own methods for whatever they do not write.
// A Mapping is a dss.Brancher, so dss.Combine gives it its branch's actions
// only, and a dss.Implementer, so an action no part handles refuses the
// plan before the first write:
//
//	tx, err := dsssql.BeginTx(ctx, db, nil) // or db.BeginTx: no COPY
//	users.DB, groups.DB = tx, tx
//	err = ds.Import(ctx)
//	plan, err := ds.Plan()
//	report, err := ds.Apply(ctx, plan, dss.Combine(users, groups, dss.Methods(&own{})))
//	err = tx.Commit()
//
// Schemas shared with an application need more than columns:
//
//   - Lists stores a list attribute in a join table, one row per element
//     (Join). The join table may hold the owner's key or a surrogate id
//     (OwnerID), and the element itself or another table's surrogate id,
//     found by the element with a Lookup: Moodle's cohort_members(cohortid,
//     userid), where userid is the id of the user whose idnumber is the
//     element. A Join's Insert fills other columns of the rows it adds.
//   - Scope is the rows the sync owns (auth = 'sis'): the import reads only
//     them, updates and deletes touch only them, new rows get its values.
//   - SoftDelete marks a row deleted instead of deleting it (deleted = 1);
//     the import skips marked rows, and a new object whose row is marked is
//     revived, not inserted again. Its join table rows are deleted either
//     way.
//   - Insert gives new rows values the objects do not have (created_by);
//     Stamps writes a value on every insert, update and soft delete
//     (timemodified). Columns named nowhere are left to their defaults.
//
// Values: a nil pointer or an invalid sql.Null[T] is NULL. A time.Time goes
// to a DATE (it must be midnight UTC), a TIMESTAMP or DATETIME (it must not
// be finer than the column keeps: microseconds in PostgreSQL, what
// DATETIME(n) says in MySQL) or an integer column (whole seconds since
// 1970), always in UTC. A time that does not fit is the action's error,
// naming the column, rather than a rounded write that every run would
// update again.
//
// Before its first read or write through a DB, the Mapping checks the
// declaration against the database's catalog (pg_catalog,
// information_schema, PRAGMA) and returns one *SchemaError naming every
// problem: a missing table or column, a key column that is not unique
// (alone, or with Scope's columns), a column whose type cannot hold the
// field's values, a NOT NULL column for a field that may be nil.
//
// It writes each batch in chunks between a savepoint and its release:
// PostgreSQL gets one statement per chunk whose parameters are arrays
// (unnest), SQLite and MySQL multi-row statements, each size prepared once
// per transaction; deletes go by sets of keys. In a Tx (BeginTx), which
// keeps its connection so that the Mapping can reach pgx under
// database/sql, PostgreSQL inserts new rows and list elements with COPY
// instead. A column of a type pgx does not know (an enum, a domain) is
// sent as text, and the server casts it. Identifiers are quoted for
// the dialect, values are always parameters. When a statement fails, the
// chunk is rolled back to its savepoint and written one action at a time to
// find the failing one, which is reported as a *dss.BatchError naming its
// action and idnumber, with the transaction still usable. Errors show no
// values unless ShowValues is set (never those of a secret attribute); a
// MySQL message, a PostgreSQL data exception and a pgx encoding error,
// which may quote them, are withheld. A batch of fewer than
// four one-statement actions goes without a savepoint (see Mapping.Apply).
//
// The Dialect is asked of the database (SELECT version()) unless it is set.
// A Mapping writes through one transaction: it does not declare itself
// safe for concurrent batches, so dss.Workers refuses it.
//
// Open the database with the driver of your choice; the package imports
// pgx only to reach it for COPY and to read its errors. It is tested with
// PostgreSQL through pgx
// (github.com/jackc/pgx/v5/stdlib, driver name "pgx"), with SQLite through
// modernc.org/sqlite (driver name "sqlite"), which needs no C compiler, and
// with MariaDB through github.com/go-sql-driver/mysql (driver name "mysql",
// with parseTime=true so that times read as time.Time).
package dsssql
