package dsssql

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/datastoresync/dss"
)

// runState is what a Mapping knows of its DB: the dialect, the schema it
// checked, its statements, prepared once per shape.
type runState struct {
	db    DB
	d     Dialect
	ops   ops
	stmts map[stmtKey]*prepared
	srcs  map[reflect.Type]*srcPlan
	im    *Importer // the import running, for Position
	// ids are the surrogate ids looked up in this DB, by the column that
	// holds them (OwnerID, Lookup.ID): key text -> id.
	ids map[*column]map[string]any
}

// ops are the Mapping's statements, built once its schema is checked.
type ops struct {
	insert     *op
	update     map[*column]*op
	del        *op // DELETE, or the soft delete's UPDATE
	revive     *op // soft delete: UPDATE of a deleted row to a new object
	joinInsert map[*list]*op
	joinDelete map[*list]*op
	joinOwner  map[*list]*op // DELETE of every element of the owners
}

type stmtKey struct {
	o *op
	n int
}

type prepared struct {
	stmt *sql.Stmt
	srcs []argSrc
}

// srcPlan is where a source object type keeps the Mapping's attributes:
// the field index of each column's attribute, and of each list's.
type srcPlan struct {
	id    int
	cols  []int // by config.cols
	lists []int // by config.lists
}

// ready returns the run state for m.DB, checking the schema first when
// the DB is new.
func (m *Mapping) ready(ctx context.Context) (*runState, *config, error) {
	c, err := m.config()
	if err != nil {
		return nil, nil, err
	}
	if m.DB == nil {
		return nil, nil, m.errorf("%w", errNoDB)
	}
	if r := m.run; r != nil && sameDB(r.db, m.DB) {
		return r, c, nil
	}
	if m.run != nil {
		for _, p := range m.run.stmts {
			p.stmt.Close()
		}
		m.run = nil
	}
	d := m.Dialect
	if d == Detect {
		if d, err = detectDialect(ctx, m.DB); err != nil {
			return nil, nil, m.errorf("%w", err)
		}
	}
	if d != Postgres && d != SQLite && d != MySQL {
		return nil, nil, m.errorf("unknown dialect %v", d)
	}
	r := &runState{db: m.DB, d: d, stmts: map[stmtKey]*prepared{}, srcs: map[reflect.Type]*srcPlan{},
		ids: map[*column]map[string]any{}}
	if err := m.check(ctx, r, c); err != nil {
		return nil, nil, err
	}
	m.run = r
	return r, c, nil
}

// sameDB reports whether a and b are the same DB, without the panic of
// comparing two values of a type that is not comparable.
func sameDB(a, b DB) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

func (m *Mapping) errorf(format string, args ...any) error {
	return fmt.Errorf("dsssql: %s (table %s): "+format, append([]any{m.branch, m.table}, args...)...)
}

// check compares the declaration with the database's catalog, fills in the
// columns' storage, and builds the statements.
func (m *Mapping) check(ctx context.Context, r *runState, c *config) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	tables := map[string]*tableInfo{}
	describe := func(table string) (*tableInfo, error) {
		if ti, ok := tables[table]; ok {
			return ti, nil
		}
		ti, err := r.d.describe(ctx, r.db, table)
		if err != nil {
			return nil, m.errorf("%w", err)
		}
		if !ti.exists {
			bad("no table %s", table)
		}
		tables[table] = ti
		return ti, nil
	}
	t, err := describe(m.table)
	if err != nil {
		return err
	}
	// col finds a column of table ti and checks that it can hold values
	// of kind k (kindOther: any) and nil when null.
	col := func(table string, ti *tableInfo, name string, k baseKind, null bool, what string) (colInfo, bool) {
		if !ti.exists {
			return colInfo{}, false
		}
		ci, ok := ti.cols[name]
		if !ok {
			bad("no column %s.%s for %s", table, name, what)
			return ci, false
		}
		if k != kindOther {
			if why := r.d.holds(ci, k); why != "" {
				bad("column %s.%s for %s: %s", table, name, what, why)
			}
		}
		if null && !ci.nullable {
			bad("column %s.%s for %s is NOT NULL, and the attribute may be absent", table, name, what)
		}
		return ci, true
	}
	fill := func(cl *column, ci colInfo) {
		cl.pgType, cl.prec = ci.pgType, ci.prec
		cl.store = storePlain
		if cl.kind == kindTime {
			switch ci.class {
			case classInt:
				cl.store = storeUnix
			case classDate:
				cl.store = storeDate
			default:
				cl.store = storeTimestamp
			}
		}
	}
	scopeCols := func(ks []konst) []string {
		var cols []string
		for _, k := range ks {
			cols = append(cols, k.col)
		}
		return cols
	}
	if ci, ok := col(m.table, t, c.key.name, c.key.kind, false, "the idnumber"); ok {
		fill(c.key, ci)
		if !t.unique(c.key.name, scopeCols(c.scope)) {
			bad("key column %s.%s is not unique (no unique index or key on it alone, or on it and Scope's columns)", m.table, c.key.name)
		}
	}
	for _, cl := range c.cols {
		if ci, ok := col(m.table, t, cl.name, cl.kind, cl.a.null != notNull, "attribute "+cl.attr); ok {
			fill(cl, ci)
		}
	}
	konstType := func(table string, ti *tableInfo, ks []konst, what string) {
		for i := range ks {
			if ci, ok := col(table, ti, ks[i].col, kindOther, false, what); ok {
				ks[i].typ = ci.pgType
			}
		}
	}
	konstType(m.table, t, c.scope, "Scope")
	konstType(m.table, t, c.insert, "Insert")
	if c.live != nil {
		ks := []konst{*c.live, *c.deleted}
		konstType(m.table, t, ks, "SoftDelete")
		c.live.typ, c.deleted.typ = ks[0].typ, ks[0].typ
	}
	for i := range c.stamps {
		if ci, ok := col(m.table, t, c.stamps[i].col, kindOther, false, "Stamps"); ok {
			c.stamps[i].typ = ci.pgType
		}
	}
	for _, l := range c.lists {
		what := "list " + l.attr
		jt, err := describe(l.join.Table)
		if err != nil {
			return err
		}
		// The owner column holds the key, or the column OwnerID names.
		ownerKind := c.key.kind
		if l.ownerID != nil {
			if ci, ok := col(m.table, t, l.ownerID.name, kindOther, false, what+" (OwnerID)"); ok {
				fill(l.ownerID, ci)
				if !t.unique(l.ownerID.name, nil) {
					bad("column %s.%s (OwnerID of %s) is not unique", m.table, l.ownerID.name, what)
				}
			}
			ownerKind = kindOther
		}
		if ci, ok := col(l.join.Table, jt, l.owner.name, ownerKind, false, what+" (Owner)"); ok {
			fill(l.owner, ci)
		}
		memberKind := l.kind
		if lk := l.join.Lookup; lk != nil {
			lt, err := describe(lk.Table)
			if err != nil {
				return err
			}
			if ci, ok := col(lk.Table, lt, lk.ID, kindOther, false, what+" (Lookup.ID)"); ok {
				fill(l.lookupID, ci)
			}
			if ci, ok := col(lk.Table, lt, lk.Key, l.kind, false, what+" (Lookup.Key)"); ok {
				fill(l.lookupKey, ci)
				if !lt.unique(lk.Key, scopeCols(l.lookupScope)) {
					bad("column %s.%s (Lookup.Key of %s) is not unique (no unique index on it alone, or on it and Lookup.Scope's columns)", lk.Table, lk.Key, what)
				}
			}
			konstType(lk.Table, lt, l.lookupScope, what+" (Lookup.Scope)")
			memberKind = kindOther
		}
		if ci, ok := col(l.join.Table, jt, l.member.name, memberKind, false, what+" (Member)"); ok {
			fill(l.member, ci)
		}
		konstType(l.join.Table, jt, l.insert, what+" (Insert)")
	}
	if len(problems) > 0 {
		return m.declError(problems)
	}
	m.buildOps(r, c, tables)
	return nil
}

// storage is how a column stores a time.Time.
type storage uint8

const (
	storePlain     storage = iota
	storeUnix              // an integer: seconds since 1970 UTC
	storeDate              // a date: midnight UTC
	storeTimestamp         // a timestamp of prec fractional digits
)

// buildOps builds the Mapping's statements for r's dialect, from the
// tables the check described.
func (m *Mapping) buildOps(r *runState, c *config, tables map[string]*tableInfo) {
	oc := func(cl *column) opCol { return opCol{name: cl.name, pgType: cl.pgType} }
	kc := func(k konst) opCol { return opCol{name: k.col, pgType: k.typ} }
	names := func(ks []konst) []string {
		var s []string
		for _, k := range ks {
			s = append(s, k.col)
		}
		return s
	}
	stampNames := func() []string {
		var s []string
		for _, st := range c.stamps {
			s = append(s, st.col)
		}
		return s
	}
	where := names(c.scope)
	if c.live != nil {
		where = append(where, c.live.col)
	}
	o := &r.ops
	// INSERT: key, attributes, scope, live, insert, stamps.
	ins := &op{kind: opInsert, table: m.table, cols: []opCol{oc(c.key)}}
	for _, cl := range c.cols {
		ins.cols = append(ins.cols, oc(cl))
	}
	for _, k := range c.scope {
		ins.cols = append(ins.cols, kc(k))
	}
	if c.live != nil {
		ins.cols = append(ins.cols, kc(*c.live))
	}
	for _, k := range c.insert {
		ins.cols = append(ins.cols, kc(k))
	}
	for _, st := range c.stamps {
		ins.cols = append(ins.cols, opCol{name: st.col, pgType: st.typ})
	}
	ins.copy = copyable(tables[m.table], ins.cols)
	o.insert = ins
	o.update = map[*column]*op{}
	for _, cl := range c.cols {
		o.update[cl] = &op{kind: opUpdate, table: m.table, cols: []opCol{oc(cl), oc(c.key)}, nset: 1,
			set: stampNames(), where: where}
	}
	if c.live != nil {
		o.del = &op{kind: opUpdate, table: m.table, cols: []opCol{oc(c.key)},
			set: append([]string{c.deleted.col}, stampNames()...), where: where}
		rv := &op{kind: opUpdate, table: m.table, nset: len(c.cols)}
		for _, cl := range c.cols {
			rv.cols = append(rv.cols, oc(cl))
		}
		rv.cols = append(rv.cols, oc(c.key))
		rv.set = append(append([]string{c.live.col}, names(c.insert)...), stampNames()...)
		rv.where = append(names(c.scope), c.deleted.col)
		o.revive = rv
	} else {
		o.del = &op{kind: opDelete, table: m.table, cols: []opCol{oc(c.key)}, where: where}
	}
	o.joinInsert = map[*list]*op{}
	o.joinDelete = map[*list]*op{}
	o.joinOwner = map[*list]*op{}
	for _, l := range c.lists {
		pair := []opCol{oc(l.owner), oc(l.member)}
		ji := &op{kind: opInsert, table: l.join.Table, cols: pair}
		for _, k := range l.insert {
			ji.cols = append(ji.cols, kc(k))
		}
		ji.copy = copyable(tables[l.join.Table], ji.cols)
		o.joinInsert[l] = ji
		o.joinDelete[l] = &op{kind: opDelete, table: l.join.Table, cols: pair}
		o.joinOwner[l] = &op{kind: opDelete, table: l.join.Table, cols: pair[:1]}
	}
}

// srcPlan returns where objects of type t keep the Mapping's attributes.
func (r *runState) srcPlan(c *config, t reflect.Type) (*srcPlan, error) {
	if p, ok := r.srcs[t]; ok {
		return p, nil
	}
	if t.Kind() != reflect.Pointer {
		return nil, fmt.Errorf("the action's object is a %v, not a pointer to a struct", t)
	}
	obj, err := objectType(t.Elem())
	if err != nil {
		return nil, err
	}
	p := &srcPlan{id: obj.id.index}
	var missing []string
	find := func(key string) int {
		i, ok := obj.byKey[key]
		if !ok {
			missing = append(missing, key)
			return -1
		}
		return obj.attrs[i].index
	}
	for _, cl := range c.cols {
		p.cols = append(p.cols, find(cl.attr))
	}
	for _, l := range c.lists {
		p.lists = append(p.lists, find(l.attr))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the source's %v has no attribute %v", t.Elem(), missing)
	}
	r.srcs[t] = p
	return p, nil
}

// value returns v, a field's value or an action's Value, as column cl
// stores it.
func (m *Mapping) value(cl *column, v any, showValue bool) (any, error) {
	x, err := plainValue(v)
	if err != nil || x == nil {
		return x, err
	}
	t, ok := x.(time.Time)
	if !ok {
		if cl.kind == kindTime {
			return nil, fmt.Errorf("column %s: a %T is not a time", cl.name, x)
		}
		return x, nil
	}
	show := func() string {
		if showValue && !cl.a.secret {
			return " " + t.Format(time.RFC3339Nano)
		}
		return ""
	}
	switch cl.store {
	case storeUnix:
		if t.Nanosecond() != 0 {
			return nil, fmt.Errorf("column %s keeps whole seconds since 1970, and the time%s has a fraction: truncate it in the source (time.Truncate), or every run would update it again", cl.name, show())
		}
		return t.Unix(), nil
	case storeDate:
		if _, off := t.Zone(); off != 0 || t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0 {
			return nil, fmt.Errorf("column %s keeps a date, and the time%s is not midnight UTC: make it one in the source, or every run would update it again", cl.name, show())
		}
	case storeTimestamp:
		if cl.prec < 9 && t.Nanosecond()%pow10[9-cl.prec] != 0 {
			return nil, fmt.Errorf("column %s keeps %d fractional digits of a second, and the time%s has more: truncate it in the source (time.Truncate), or every run would update it again", cl.name, cl.prec, show())
		}
	}
	// In UTC: a TIMESTAMP without time zone keeps the clock's reading and
	// drops the zone, and SQLite's driver writes the zone's name, which it
	// cannot read back; the instant is what dss compares.
	return t.UTC(), nil
}

var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// Import yields the rows the Mapping owns: one query of its table (rows in
// Scope, not marked deleted), joined to the first list's join table, one
// record per element; and one query per further list. Each record has the
// idnumber and the attributes, named as the object's keys. It checks the
// schema first.
func (m *Mapping) Import(ctx context.Context, yield func(dss.Record) error) error {
	return m.importKeys(ctx, nil, yield)
}

// keysPerQuery is how many idnumbers one query of ImportKeys asks for.
const keysPerQuery = 500

// ImportKeys is Import for the rows of some idnumbers only, which makes the
// Mapping a dss.KeysImporter: dss.Datastore.Verify reads back through it
// what Apply wrote, instead of the whole table. The idnumbers go to the
// queries as parameters, 500 per query.
func (m *Mapping) ImportKeys(ctx context.Context, ids []string, yield func(dss.Record) error) error {
	_, c, err := m.ready(ctx)
	if err != nil {
		return err
	}
	keys := make([]any, len(ids))
	for i, id := range ids {
		if keys[i], err = c.keyOf(id); err != nil {
			return m.errorf("idnumber %s: %w", m.showKey(id), err)
		}
	}
	for s := 0; s < len(keys); s += keysPerQuery {
		if err := m.importKeys(ctx, keys[s:min(s+keysPerQuery, len(keys))], yield); err != nil {
			return err
		}
	}
	return nil
}

// importKeys is Import, of the rows whose key is in keys unless keys is nil.
func (m *Mapping) importKeys(ctx context.Context, keys []any, yield func(dss.Record) error) error {
	r, c, err := m.ready(ctx)
	if err != nil {
		return err
	}
	unix := map[string]bool{}
	for _, cl := range c.cols {
		if cl.store == storeUnix {
			unix[cl.attr] = true
		}
	}
	convert := func(rec dss.Record) error {
		for attr := range unix {
			switch v := rec[attr].(type) {
			case int64:
				rec[attr] = time.Unix(v, 0).UTC()
			case []byte, string:
				var n int64
				if _, err := fmt.Sscan(fmt.Sprintf("%s", v), &n); err != nil {
					return fmt.Errorf("column %s: %w", attr, err)
				}
				rec[attr] = time.Unix(n, 0).UTC()
			}
		}
		return yield(rec)
	}
	for i := 0; i == 0 || i < len(c.lists); i++ {
		var l *list
		if len(c.lists) > 0 {
			l = c.lists[i]
		}
		text, args := m.importQuery(r.d, c, l, i == 0, keys)
		im := Query(r.db, text, args...)
		im.Name = m.table
		r.im = im
		if err := im.Import(ctx, convert); err != nil {
			return err
		}
	}
	return nil
}

// Position returns the position of the row being imported: the table and
// the row number of its query.
func (m *Mapping) Position() dss.Pos {
	if m.run == nil || m.run.im == nil {
		return dss.Pos{Source: m.table}
	}
	return m.run.im.Position()
}

// importQuery is the query of the Mapping's rows, with the list l: with
// every scalar attribute and a LEFT JOIN when first, else the elements of
// l alone; of the rows whose key is in keys, unless keys is nil.
func (m *Mapping) importQuery(d Dialect, c *config, l *list, first bool, keys []any) (string, []any) {
	s := &sqlText{d: d}
	var args []any
	arg := func(v any) {
		s.ph(argSrc{constArg, len(args)})
		args = append(args, v)
	}
	s.w("SELECT t.")
	s.q(c.key.name)
	s.w(" AS ")
	s.q(dss.IDKey)
	if first {
		for _, cl := range c.cols {
			s.w(", t.")
			s.q(cl.name)
			s.w(" AS ")
			s.q(cl.attr)
		}
	}
	if l != nil {
		if l.join.Lookup != nil {
			s.w(", l.")
			s.q(l.lookupKey.name)
		} else {
			s.w(", j.")
			s.q(l.member.name)
		}
		s.w(" AS ")
		s.q(l.attr)
	}
	s.w(" FROM ")
	s.q(m.table)
	s.w(" AS t")
	if l != nil {
		if first {
			s.w(" LEFT")
		}
		s.w(" JOIN ")
		lk := l.join.Lookup
		if lk != nil {
			s.w("(")
		}
		s.q(l.join.Table)
		s.w(" AS j")
		if lk != nil {
			s.w(" JOIN ")
			s.q(lk.Table)
			s.w(" AS l ON l.")
			s.q(lk.ID)
			s.w(" = j.")
			s.q(l.member.name)
			for _, k := range l.lookupScope {
				s.w(" AND l.")
				s.q(k.col)
				s.w(" = ")
				arg(k.val)
			}
			s.w(")")
		}
		s.w(" ON j.")
		s.q(l.owner.name)
		s.w(" = t.")
		if l.ownerID != nil {
			s.q(l.ownerID.name)
		} else {
			s.q(c.key.name)
		}
	}
	conds := slices.Clone(c.scope)
	if c.live != nil {
		conds = append(conds, *c.live)
	}
	for i, k := range conds {
		if i == 0 {
			s.w(" WHERE t.")
		} else {
			s.w(" AND t.")
		}
		s.q(k.col)
		s.w(" = ")
		arg(k.val)
	}
	if keys != nil {
		if len(conds) == 0 {
			s.w(" WHERE t.")
		} else {
			s.w(" AND t.")
		}
		s.q(c.key.name)
		s.w(" IN (")
		for i, k := range keys {
			if i > 0 {
				s.w(", ")
			}
			arg(k)
		}
		s.w(")")
	}
	return s.b.String(), args
}

// ImportRows is Import when every column holds text (the idnumber, the
// attributes and the first list's elements are strings, none a pointer or
// a sql.Null): each row is yielded as text, which dss maps to fields once
// per import rather than once per record. NULL is the empty string, as
// Import's nil becomes, and an object without elements has a row without
// the list's value. Otherwise it returns dss.ErrSkipRows, and dss calls
// Import.
func (m *Mapping) ImportRows(ctx context.Context, yield func(keys, row []string) error) error {
	r, c, err := m.ready(ctx)
	if err != nil {
		return err
	}
	if !c.text() {
		return dss.ErrSkipRows
	}
	for i := 0; i == 0 || i < len(c.lists); i++ {
		var l *list
		if len(c.lists) > 0 {
			l = c.lists[i]
		}
		keys := []string{dss.IDKey}
		if i == 0 {
			for _, cl := range c.cols {
				keys = append(keys, cl.attr)
			}
		}
		if l != nil {
			keys = append(keys, l.attr)
		}
		text, args := m.importQuery(r.d, c, l, i == 0, nil)
		im := &Importer{Name: m.table, db: r.db, query: text, args: args}
		r.im = im
		if err := im.importRows(ctx, keys, l != nil, yield); err != nil {
			return err
		}
	}
	return nil
}

// text reports whether every column the import reads holds text.
func (c *config) text() bool {
	if c.key.kind != kindString {
		return false
	}
	for _, cl := range c.cols {
		if cl.kind != kindString || cl.a.null != notNull {
			return false
		}
	}
	for _, l := range c.lists {
		if l.kind != kindString {
			return false
		}
	}
	return true
}
