package dsssql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/datastoresync/dss"
)

// Queryer is what an Importer needs of a database: *sql.DB, *sql.Tx and
// *sql.Conn all have it.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Importer is a dss.Importer that yields the rows of one SQL query as
// records, keyed by column name. Values are as the driver returns them when
// scanned into an any ([]byte, string, int64, float64, bool, time.Time);
// NULL is nil. Two columns with the same name are an error: rename one with
// AS.
//
// Importer is also a dss.Positioner: a bad record is named by Name and its
// 1-based row number. It keeps the row number of the import that is running,
// so one Importer must not run two imports at the same time; it may run any
// number of them one after the other.
type Importer struct {
	// Name names the importer in positions and errors, such as the table the
	// query reads. Query sets it to a short form of the query, Table to the
	// table's name.
	Name string

	db    Queryer
	query string
	args  []any
	err   error    // a construction error, reported by Import
	cols  []string // the columns Table asked for, checked by Import
	row   int      // row being yielded, for Position
}

// Query returns an Importer that runs query with args as its parameters.
// The context given to Import is passed to QueryContext.
func Query(db Queryer, query string, args ...any) *Importer {
	return &Importer{Name: shortQuery(query), db: db, query: query, args: args}
}

// Table returns an Importer of the given columns of table, or of all its
// columns if none are given, with Name set to table. Both are quoted with
// QuoteIdentifier, so they may come from configuration; table is one
// identifier, so a schema-qualified name needs Query. A name that contains
// NUL makes Import fail, and so does a column that the table lacks, even in
// SQLite, which would read its quoted name as a string.
func Table(db Queryer, table string, columns ...string) *Importer {
	cols := "*"
	if len(columns) > 0 {
		quoted := make([]string, len(columns))
		for i, c := range columns {
			quoted[i] = QuoteIdentifier(c)
		}
		cols = strings.Join(quoted, ", ")
	}
	im := Query(db, "SELECT "+cols+" FROM "+QuoteIdentifier(table))
	im.Name = table
	im.cols = columns
	for _, name := range append([]string{table}, columns...) {
		if strings.ContainsRune(name, 0) {
			im.Name = strings.ReplaceAll(table, "\x00", `\x00`)
			im.err = fmt.Errorf("identifier %q contains NUL", name)
			break
		}
	}
	return im
}

// Import runs the query and calls yield once per row, in the order of the
// result, with one record map that it clears for each row (dss keeps nothing
// of a record after yield returns). It stops at the first error. An error
// of yield is returned as it is; the others begin with "sql NAME: " (the
// tree's *dss.ImportError adds "dss: " once) and wrap their cause,
// including ctx's error when ctx ends during the import.
func (im *Importer) Import(ctx context.Context, yield func(dss.Record) error) (err error) {
	im.row = 0
	if im.err != nil {
		return im.errorf("%w", im.err)
	}
	if im.db == nil {
		return im.errorf("no database")
	}
	if err := ctx.Err(); err != nil {
		return im.errorf("%w", err)
	}
	rows, err := im.db.QueryContext(ctx, im.query, im.args...)
	if err != nil {
		return im.errorf("query: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil {
			err = errors.Join(err, im.errorf("close: %w", cerr))
		}
	}()
	cols, err := rows.Columns()
	if err != nil {
		return im.errorf("columns: %w", err)
	}
	// SQLite reads a quoted name that is no column as a string literal,
	// and names the result column after the literal, quotes included.
	for i, c := range im.cols {
		if i >= len(cols) || cols[i] != c {
			return im.errorf("no column %q", c)
		}
	}
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if seen[c] {
			return im.errorf("column %q appears twice: rename one with AS", c)
		}
		seen[c] = true
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	rec := make(dss.Record, len(cols))
	for rows.Next() {
		im.row++
		if err := ctx.Err(); err != nil {
			return im.errorf("row %d: %w", im.row, err)
		}
		if err := rows.Scan(ptrs...); err != nil {
			return im.errorf("row %d: %w", im.row, err)
		}
		clear(rec) // keys a Preprocess hook added never reach the next row
		for i, c := range cols {
			rec[c] = vals[i]
		}
		if err := yield(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return im.errorf("after row %d: %w", im.row, err)
	}
	return nil
}

// Position returns the position of the row being yielded: Name and its
// 1-based row number.
func (im *Importer) Position() dss.Pos {
	return dss.Pos{Source: im.name(), Line: im.row}
}

func (im *Importer) name() string {
	if im.Name != "" {
		return im.Name
	}
	return shortQuery(im.query)
}

func (im *Importer) errorf(format string, args ...any) error {
	return fmt.Errorf("sql %s: "+format, append([]any{im.name()}, args...)...)
}

// shortQuery returns query on one line, cut to at most 40 runes.
func shortQuery(query string) string {
	s := strings.Join(strings.Fields(query), " ")
	const max = 40
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// importRows runs the query, whose columns are keys, and yields each row
// as text: NULL is "". When list is set, the last column is a list's
// element, and an empty one (NULL: an object without elements) makes the
// row one shorter.
func (im *Importer) importRows(ctx context.Context, keys []string, list bool, yield func(keys, row []string) error) (err error) {
	im.row = 0
	rows, err := im.db.QueryContext(ctx, im.query, im.args...)
	if err != nil {
		return im.errorf("query: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil {
			err = errors.Join(err, im.errorf("close: %w", cerr))
		}
	}()
	vals := make([]sql.RawBytes, len(keys))
	ptrs := make([]any, len(keys))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	row := make([]string, len(keys))
	for rows.Next() {
		im.row++
		if err := ctx.Err(); err != nil {
			return im.errorf("row %d: %w", im.row, err)
		}
		if err := rows.Scan(ptrs...); err != nil {
			return im.errorf("row %d: %w", im.row, err)
		}
		for i, v := range vals {
			row[i] = string(v)
		}
		n := len(row)
		if list && row[n-1] == "" {
			n-- // no element
		}
		if err := yield(keys, row[:n]); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return im.errorf("after row %d: %w", im.row, err)
	}
	return nil
}
