package dsssql

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Tx is a *sql.Tx that keeps the connection it runs on, so that a Mapping
// given it as its DB can reach the driver under database/sql: on
// PostgreSQL through pgx, it inserts new rows with COPY, which streams
// them to the server while it encodes them, where a *sql.Tx sends each
// statement's arrays whole. On any other database or driver it is a
// *sql.Tx.
//
// Commit and Rollback end the transaction and give the connection back to
// the pool. Call one of them, as with any transaction (defer Rollback): a
// Tx whose context is cancelled is rolled back, but keeps its connection
// until then.
type Tx struct {
	*sql.Tx
	conn *sql.Conn
}

// BeginTx starts a transaction on a connection of db of its own, which it
// keeps to the commit or rollback (see Tx).
func BeginTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions) (*Tx, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("dsssql: a connection for the transaction: %w", err)
	}
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("dsssql: begin: %w", err)
	}
	return &Tx{Tx: tx, conn: conn}, nil
}

// Commit commits the transaction and gives its connection back to the
// pool.
func (t *Tx) Commit() error {
	err := t.Tx.Commit()
	t.conn.Close() // ErrConnDone after the first time: nothing to report
	return err
}

// Rollback rolls the transaction back and gives its connection back to the
// pool; after Commit, it returns sql.ErrTxDone.
func (t *Tx) Rollback() error {
	err := t.Tx.Rollback()
	t.conn.Close()
	return err
}

// copyTypes are the PostgreSQL column types, as format_type names them,
// whose values the Mapping writes (strings, integers, floats, booleans,
// times, bytes) pgx encodes for COPY exactly as it encodes them as array
// elements. A table with a column of another type (an enum, a domain, json)
// is written with arrays, whose casts PostgreSQL applies.
var copyTypes = map[string]bool{
	"text": true, "character varying": true, "character": true,
	"smallint": true, "integer": true, "bigint": true,
	"real": true, "double precision": true, "boolean": true, "bytea": true,
	"date": true, "timestamp without time zone": true, "timestamp with time zone": true,
}

// copyable reports whether an insert of cols into the table ti describes
// may use COPY: the table takes it as it takes INSERT (a table without
// rules, not a view) and every column is of a type in copyTypes.
func copyable(ti *tableInfo, cols []opCol) bool {
	if ti == nil || !ti.copy {
		return false
	}
	for _, c := range cols {
		if !copyTypes[c.pgType] {
			return false
		}
	}
	return true
}

// copyFrom inserts the n rows of o, an op that may use COPY (op.copy),
// width values each in rows, with COPY when the Mapping's DB is a Tx on a
// pgx connection. It reports whether it did: when not, nothing was sent,
// and the caller writes the rows with arrays.
func (w *writer) copyFrom(o *op, rows []any, n int) (bool, error) {
	tx, ok := w.m.DB.(*Tx)
	if !ok {
		return false, nil
	}
	names := make([]string, len(o.cols))
	for i, c := range o.cols {
		names[i] = c.name
	}
	width := len(o.cols)
	copied := false
	err := tx.conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return nil // not pgx: arrays
		}
		copied = true
		got, err := pc.Conn().CopyFrom(w.ctx, pgx.Identifier{o.table}, names,
			pgx.CopyFromSlice(n, func(i int) ([]any, error) { return rows[i*width : (i+1)*width], nil }))
		copiedRows.Add(got)
		return err
	})
	return copied, err
}

// copiedRows counts the rows inserted with COPY, for the tests.
var copiedRows atomic.Int64
