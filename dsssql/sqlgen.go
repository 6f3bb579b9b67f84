package dsssql

import (
	"strconv"
	"strings"
)

// opKind is what a statement does.
type opKind uint8

const (
	opInsert opKind = iota // INSERT rows
	opUpdate               // UPDATE rows matched by their keys
	opDelete               // DELETE rows matched by their keys
)

// An op is the shape of a bulk statement: the table, the columns each row
// gives a value of, and the constants that are the same for every row.
type op struct {
	kind  opKind
	table string
	// cols are the columns each row has a value for: for opInsert the
	// inserted ones; for opUpdate cols[:nset] are set and cols[nset:]
	// match the row; for opDelete all of them match.
	cols []opCol
	nset int
	// set are the columns an opUpdate sets to a constant, and where the
	// columns every row must also have, equal to a constant: the
	// statement's constants are the values of set, then of where.
	set, where []string
	// copy says that an opInsert may write its rows with COPY: its table
	// takes COPY as it takes INSERT, and pgx encodes each column's values
	// for it (see copyable).
	copy bool
}

// An opCol is a column of an op: its name and, for PostgreSQL's arrays,
// its type.
type opCol struct {
	name   string
	pgType string
}

// An argSrc says where a placeholder's value comes from: the column col of
// row row of the rows written, the column col of every row as an array
// (row == arrayArg), or the constant col (row == constArg).
type argSrc struct{ row, col int }

const (
	constArg = -1
	arrayArg = -2
)

// sqlText builds a statement and the sources of its placeholders, in the
// order they appear in the text.
type sqlText struct {
	d    Dialect
	b    strings.Builder
	srcs []argSrc
}

func (s *sqlText) w(parts ...string) {
	for _, p := range parts {
		s.b.WriteString(p)
	}
}

func (s *sqlText) q(name string) { s.b.WriteString(s.d.quote(name)) }

// ph writes a placeholder for the value src.
func (s *sqlText) ph(src argSrc) {
	s.srcs = append(s.srcs, src)
	if s.d == Postgres {
		s.b.WriteString("$" + strconv.Itoa(len(s.srcs)))
	} else {
		s.b.WriteByte('?')
	}
}

// where writes " AND t.c = $n" for each of o's constant conditions, the
// first after lead instead of " AND ".
func (s *sqlText) where(o *op, lead, prefix string) {
	for i, n := range o.where {
		if i == 0 {
			s.w(lead)
		} else {
			s.w(" AND ")
		}
		s.w(prefix)
		s.q(n)
		s.w(" = ")
		s.ph(argSrc{constArg, len(o.set) + i})
	}
}

// build returns the statement of o for n rows (PostgreSQL: for any number,
// as arrays) and the sources of its placeholders.
func (d Dialect) build(o *op, n int) (string, []argSrc) {
	s := &sqlText{d: d}
	if n == 1 && o.kind != opInsert {
		// One row: a plain statement, which every database plans as a
		// lookup of the key, not as a join.
		s.one(o)
		return s.b.String(), s.srcs
	}
	switch {
	case o.kind == opInsert:
		s.w("INSERT INTO ")
		s.q(o.table)
		s.w(" (")
		for i, c := range o.cols {
			if i > 0 {
				s.w(", ")
			}
			s.q(c.name)
		}
		s.w(")")
		if d == Postgres && n != 1 {
			s.w(" SELECT * FROM ")
			s.unnest(o.cols)
		} else {
			s.w(" VALUES ")
			s.values(o.cols, n)
		}
	case d == Postgres:
		// UPDATE t AS t SET c = v.c0, s = $k FROM unnest(...) AS v (c0, ...) WHERE t.k = v.c1 AND t.w = $m
		// DELETE FROM t AS t USING unnest(...) AS v (c0, ...) WHERE t.k = v.c0 AND t.w = $m
		if o.kind == opUpdate {
			s.w("UPDATE ")
			s.q(o.table)
			s.w(" AS t SET ")
			s.setCols(o, "")
			s.w(" FROM ")
		} else {
			s.w("DELETE FROM ")
			s.q(o.table)
			s.w(" AS t USING ")
		}
		s.unnest(o.cols)
		s.w(" AS v (")
		for i := range o.cols {
			if i > 0 {
				s.w(", ")
			}
			s.w("c", strconv.Itoa(i))
		}
		s.w(")")
		s.match(o)
	case d == SQLite && o.kind == opUpdate:
		// UPDATE t AS t SET c = v.column1, s = ? FROM (VALUES (?, ?), ...) AS v WHERE t.k = v.column2 AND t.w = ?
		s.w("UPDATE ")
		s.q(o.table)
		s.w(" AS t SET ")
		s.setCols(o, "")
		s.w(" FROM (VALUES ")
		s.values(o.cols, n)
		s.w(") AS v")
		s.match(o)
	case d == MySQL && (o.kind == opUpdate || len(o.cols) > 1):
		// UPDATE t AS t JOIN (SELECT ? AS c0, ? AS c1 UNION ALL SELECT ?, ? ...) AS v ON t.k = v.c1 SET t.c = v.c0, t.s = ? WHERE t.w = ?
		// DELETE t FROM t AS t JOIN (...) AS v ON t.k0 = v.c0 AND t.k1 = v.c1 WHERE t.w = ?
		if o.kind == opUpdate {
			s.w("UPDATE ")
		} else {
			s.w("DELETE t FROM ")
		}
		s.q(o.table)
		s.w(" AS t JOIN (")
		for r := range n {
			if r > 0 {
				s.w(" UNION ALL ")
			}
			s.w("SELECT ")
			for c := range o.cols {
				if c > 0 {
					s.w(", ")
				}
				s.ph(argSrc{r, c})
				if r == 0 {
					s.w(" AS c", strconv.Itoa(c))
				}
			}
		}
		s.w(") AS v ON ")
		s.keys(o)
		if o.kind == opUpdate {
			s.w(" SET ")
			s.setCols(o, "t.")
		}
		s.where(o, " WHERE ", "t.")
	default: // a delete in SQLite, or of one column in MySQL
		// DELETE FROM t WHERE k IN (?, ...) AND w = ?
		// DELETE FROM t WHERE (k0, k1) IN (VALUES (?, ?), ...) AND w = ?
		s.w("DELETE FROM ")
		s.q(o.table)
		s.w(" WHERE ")
		if len(o.cols) == 1 {
			s.q(o.cols[0].name)
			s.w(" IN (")
			for r := range n {
				if r > 0 {
					s.w(", ")
				}
				s.ph(argSrc{r, 0})
			}
			s.w(")")
		} else {
			s.w("(")
			for i, c := range o.cols {
				if i > 0 {
					s.w(", ")
				}
				s.q(c.name)
			}
			s.w(") IN (VALUES ")
			s.values(o.cols, n)
			s.w(")")
		}
		s.where(o, " AND ", "")
	}
	return s.b.String(), s.srcs
}

// one writes o's statement for one row:
//
//	UPDATE t SET c = ?, s = ? WHERE k = ? AND w = ?
//	DELETE FROM t WHERE k0 = ? AND k1 = ? AND w = ?
func (s *sqlText) one(o *op) {
	first := 0
	if o.kind == opUpdate {
		s.w("UPDATE ")
		s.q(o.table)
		s.w(" SET ")
		for c := range o.nset {
			if c > 0 {
				s.w(", ")
			}
			s.q(o.cols[c].name)
			s.w(" = ")
			s.ph(argSrc{0, c})
		}
		for i, n := range o.set {
			if o.nset > 0 || i > 0 {
				s.w(", ")
			}
			s.q(n)
			s.w(" = ")
			s.ph(argSrc{constArg, i})
		}
		first = o.nset
	} else {
		s.w("DELETE FROM ")
		s.q(o.table)
	}
	s.w(" WHERE ")
	for c := first; c < len(o.cols); c++ {
		if c > first {
			s.w(" AND ")
		}
		s.q(o.cols[c].name)
		s.w(" = ")
		s.ph(argSrc{0, c})
	}
	s.where(o, " AND ", "")
}

// unnest writes unnest($1::type[], ...), one array per column.
func (s *sqlText) unnest(cols []opCol) {
	s.w("unnest(")
	for i, c := range cols {
		if i > 0 {
			s.w(", ")
		}
		s.ph(argSrc{arrayArg, i})
		s.w(arrayCast(c.pgType))
	}
	s.w(")")
}

// pgxTypes are the PostgreSQL types, as format_type names them, outside
// copyTypes that pgx encodes arrays of.
var pgxTypes = map[string]bool{"numeric": true, "uuid": true, "json": true, "jsonb": true}

// arrayCast returns the cast of an array parameter of a column of type t:
// ::t[]; for a type pgx does not know (an enum, a domain, citext),
// ::text[]::t[], so that pgx sends text and the server converts it.
func arrayCast(t string) string {
	if copyTypes[t] || pgxTypes[t] {
		return "::" + t + "[]"
	}
	return "::text[]::" + t + "[]"
}

// values writes n rows of placeholders: (?, ?), (?, ?).
func (s *sqlText) values(cols []opCol, n int) {
	for r := range n {
		if r > 0 {
			s.w(", ")
		}
		s.w("(")
		for c := range cols {
			if c > 0 {
				s.w(", ")
			}
			s.ph(argSrc{r, c})
		}
		s.w(")")
	}
}

// setCols writes an update's assignments: the rows' columns from v, then
// the constants.
func (s *sqlText) setCols(o *op, prefix string) {
	for c := range o.nset {
		if c > 0 {
			s.w(", ")
		}
		s.w(prefix)
		s.q(o.cols[c].name)
		s.w(" = ")
		s.v(c)
	}
	sep := ", "
	if o.nset == 0 {
		sep = ""
	}
	for i, n := range o.set {
		s.w(sep, prefix)
		s.q(n)
		s.w(" = ")
		s.ph(argSrc{constArg, i})
		sep = ", "
	}
}

// match writes the WHERE of an update or delete whose rows come as v:
// each matched column equal to v's, and the constant conditions.
func (s *sqlText) match(o *op) {
	s.w(" WHERE ")
	s.keys(o)
	s.where(o, " AND ", "t.")
}

// keys writes "t.k = v.c1 AND ...": each column that matches a row equal
// to the row's value in v.
func (s *sqlText) keys(o *op) {
	first := 0
	if o.kind == opUpdate {
		first = o.nset
	}
	for c := first; c < len(o.cols); c++ {
		if c > first {
			s.w(" AND ")
		}
		s.w("t.")
		s.q(o.cols[c].name)
		s.w(" = ")
		s.v(c)
	}
}

// v writes the name of the c-th column of the rows v: SQLite names a
// VALUES list's columns column1, column2, ...; the others are c0, c1, ...
func (s *sqlText) v(c int) {
	if s.d == SQLite {
		s.w("v.column", strconv.Itoa(c+1))
	} else {
		s.w("v.c", strconv.Itoa(c))
	}
}
