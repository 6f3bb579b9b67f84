package dsssql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// colInfo is what the catalog says of a column.
type colInfo struct {
	typ      string // the declared type, lower case: "character varying", "bigint", "datetime"
	class    class
	nullable bool
	prec     int    // fractional second digits of a timestamp
	pgType   string // PostgreSQL: the type without modifiers, for casts
}

// tableInfo is what the catalog says of a table.
type tableInfo struct {
	exists  bool
	cols    map[string]colInfo
	uniques [][]string // the columns of each unique index (or key) without a WHERE
	// copy says that COPY writes rows as INSERT does: a PostgreSQL table,
	// ordinary or partitioned, without rules (COPY does not apply them, and
	// cannot write a view).
	copy bool
}

// class is what kind of value a column holds.
type class uint8

const (
	classOther class = iota // a type this package does not know: accepted as it is
	classAny                // SQLite's column without a type
	classText
	classInt
	classNumeric // floating point or decimal
	classBool
	classDate
	classTimestamp
	classBlob
)

func (c class) String() string {
	return [...]string{"other", "untyped", "text", "integer", "numeric", "boolean", "date", "timestamp", "binary"}[c]
}

// classify tells a column's class by its declared type, as the three
// databases name their types (SQLite by its rules of type affinity).
func classify(typ string) class {
	t := strings.ToLower(strings.TrimSpace(typ))
	switch {
	case t == "":
		return classAny
	case strings.Contains(t, "bool"):
		return classBool
	case strings.Contains(t, "int") && !strings.Contains(t, "interval") && !strings.Contains(t, "point"):
		return classInt
	case strings.HasPrefix(t, "timestamp"), strings.HasPrefix(t, "datetime"):
		return classTimestamp
	case t == "date":
		return classDate
	case strings.Contains(t, "char"), strings.Contains(t, "text"), strings.Contains(t, "clob"),
		t == "uuid", t == "citext", strings.HasPrefix(t, "enum"), t == "json", t == "jsonb":
		return classText
	case strings.Contains(t, "real"), strings.Contains(t, "floa"), strings.Contains(t, "doub"),
		strings.HasPrefix(t, "numeric"), strings.HasPrefix(t, "decimal"), t == "number", t == "money":
		return classNumeric
	case strings.Contains(t, "blob"), t == "bytea", strings.Contains(t, "binary"):
		return classBlob
	}
	return classOther
}

// describe reads the catalog's description of table.
func (d Dialect) describe(ctx context.Context, db Queryer, table string) (*tableInfo, error) {
	ti := &tableInfo{cols: map[string]colInfo{}}
	var colQuery, uniqueQuery string
	arg := table
	switch d {
	case Postgres:
		arg = QuoteIdentifier(table)
		colQuery = `SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
				CASE WHEN a.atttypmod < 0 THEN 6 ELSE a.atttypmod END, format_type(a.atttypid, NULL)
			FROM pg_attribute a
			WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`
		uniqueQuery = `SELECT i.indexrelid::text, a.attname
			FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL`
	case SQLite:
		colQuery = `SELECT name, type, NOT "notnull", 9, '' FROM pragma_table_xinfo(?)`
		uniqueQuery = `SELECT l.name, i.name FROM pragma_index_list(?) AS l, pragma_index_info(l.name) AS i
			WHERE l."unique" AND NOT l.partial`
	case MySQL:
		colQuery = `SELECT column_name, column_type, is_nullable = 'YES', COALESCE(datetime_precision, 0), ''
			FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`
		uniqueQuery = `SELECT index_name, column_name FROM information_schema.statistics
			WHERE table_schema = DATABASE() AND table_name = ? AND non_unique = 0`
	}
	rows, err := db.QueryContext(ctx, colQuery, arg)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	for rows.Next() {
		var name, typ, pgType string
		var c colInfo
		if err := rows.Scan(&name, &typ, &c.nullable, &c.prec, &pgType); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the columns of %s: %w", table, err)
		}
		c.typ, c.class, c.pgType = strings.ToLower(typ), classify(typ), pgType
		ti.cols[name] = c
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	ti.exists = len(ti.cols) > 0
	if !ti.exists {
		return ti, nil
	}
	rows, err = db.QueryContext(ctx, uniqueQuery, arg)
	if err != nil {
		return nil, fmt.Errorf("read the indexes of %s: %w", table, err)
	}
	byIndex := map[string][]string{}
	var order []string
	exprs := map[string]bool{} // indexes with an expression, which say nothing of a column
	for rows.Next() {
		var index string
		var col sql.NullString
		if err := rows.Scan(&index, &col); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the indexes of %s: %w", table, err)
		}
		if _, ok := byIndex[index]; !ok {
			order = append(order, index)
		}
		byIndex[index] = append(byIndex[index], col.String)
		exprs[index] = exprs[index] || !col.Valid
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("read the indexes of %s: %w", table, err)
	}
	for _, index := range order {
		if !exprs[index] {
			ti.uniques = append(ti.uniques, byIndex[index])
		}
	}
	if d == SQLite {
		ti.uniques = append(ti.uniques, sqlitePK(ctx, db, table)...)
	}
	if d == Postgres {
		copyOK, err := queryString(ctx, db,
			`SELECT (relkind IN ('r', 'p') AND NOT relhasrules)::text FROM pg_class WHERE oid = to_regclass($1)`, arg)
		if err != nil {
			return nil, fmt.Errorf("read the kind of %s: %w", table, err)
		}
		ti.copy = copyOK == "true"
	}
	return ti, nil
}

// sqlitePK returns an INTEGER PRIMARY KEY, which SQLite keeps as the
// rowid and which pragma_index_list does not list.
func sqlitePK(ctx context.Context, db Queryer, table string) [][]string {
	rows, err := db.QueryContext(ctx, `SELECT name, type FROM pragma_table_xinfo(?) WHERE pk > 0`, table)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var pk []string
	var typ string
	for rows.Next() {
		var name string
		if rows.Scan(&name, &typ) != nil {
			return nil
		}
		pk = append(pk, name)
	}
	if len(pk) == 1 && strings.EqualFold(strings.TrimSpace(typ), "integer") {
		return [][]string{pk}
	}
	return nil
}

// unique reports whether the column col holds each value at most once
// among rows that share the values of within: a unique index or key on
// col, possibly with some of the columns within.
func (ti *tableInfo) unique(col string, within []string) bool {
	for _, u := range ti.uniques {
		if !slices.Contains(u, col) {
			continue
		}
		ok := true
		for _, c := range u {
			if c != col && !slices.Contains(within, c) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// holds says why a column of class c cannot hold values of kind k, or ""
// when it can.
func (d Dialect) holds(c colInfo, k baseKind) string {
	ok := false
	switch c.class {
	case classAny, classOther:
		ok = true
	case classText:
		ok = k == kindString || k == kindInt || k == kindFloat
	case classInt:
		ok = k == kindInt || k == kindTime || (k == kindBool && d != Postgres)
	case classNumeric:
		ok = k == kindInt || k == kindFloat
	case classBool:
		ok = k == kindBool
	case classDate, classTimestamp:
		ok = k == kindTime
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("its type %s cannot hold %s values", c.typ, k)
}
