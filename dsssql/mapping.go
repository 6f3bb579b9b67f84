package dsssql

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/datastoresync/dss"
)

// DB is what a Mapping reads and writes through: the run's *sql.Tx, which
// also gives the savepoints that find a failing row. A *sql.DB may import,
// but Apply refuses it: its statements would go to any of its pooled
// connections.
type DB interface {
	Queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// Mapping stores one destination branch in a table, both ways: it is the
// branch's dss.Importer, one query of the rows the sync owns, and a
// dss.Template for the branch's actions, which it writes in bulk.
//
// Map declares it; the exported fields below refine it and must be set
// before its first use. Each run sets DB to the run's transaction, then
// imports and applies through it:
//
//	users := dsssql.Map(dest.Branches.Users, "users", "idnumber")
//	dest.Branches.Users.Importer = users
//	...
//	users.DB = tx
//	ds.Import(ctx); plan, _ := ds.Plan()
//	ds.Apply(ctx, plan, dss.Combine(users, groups, dss.Methods(&own{})))
//
// Before it reads or writes, a Mapping compares its columns with the
// database's (information_schema, pg_catalog or PRAGMA) and returns one
// *SchemaError listing every problem: a table or column that is missing, a
// key column that is not unique, a column that cannot hold the field's
// values. An action that fails names its idnumber, never its values unless
// ShowValues is set.
//
// A Mapping writes through one transaction, so it applies one batch at a
// time; it keeps its prepared statements for the transaction it was given.
type Mapping struct {
	// DB is the transaction of the run. Set it before each run: the
	// Mapping prepares its statements in it and checks the schema once
	// for it.
	DB DB

	// Dialect is the database's SQL; the zero value (Detect) asks the
	// database once per DB.
	Dialect Dialect

	// Columns renames attributes: attribute -> column, for the attributes
	// whose column is not named after them. Every other synced scalar
	// attribute of the branch's object type is stored in the column of its
	// name.
	Columns map[string]string

	// Lists stores list attributes in join tables: attribute -> Join. A
	// list attribute without one is an error.
	Lists map[string]Join

	// Scope is the rows the sync owns: column -> value. The import reads
	// only rows with these values, updates and deletes touch only them,
	// and new rows get them: {"auth": "sis"}.
	Scope map[string]any

	// SoftDelete, when set, makes old_<branch> mark rows deleted instead of
	// deleting them; the import skips marked rows, and new_<branch> revives
	// a marked row of the same key instead of inserting it again.
	SoftDelete *SoftDelete

	// Insert is column -> value for columns that new rows get and that
	// the objects do not have: {"created_by": "sync"}. A value that is a
	// func() any is called once per batch: {"timecreated": unixNow}.
	// Revived rows get them too. Columns named nowhere are left to their
	// defaults.
	Insert map[string]any

	// Stamps is column -> function for columns written on every insert,
	// update and soft delete, such as {"timemodified": unixNow}: each
	// function is called once per batch.
	Stamps map[string]func() any

	// ShowValues lets errors show the values of a failing row. Without it
	// they show its idnumber only, and a MySQL error, whose text may quote
	// the value, only its number.
	ShowValues bool

	branch, table, key string
	typ                reflect.Type // the branch's object type

	cfg    *config // compiled on first use
	cfgErr error

	run *runState // for the DB it was made for
}

// Join stores a list attribute in a join table, one row per element:
// group_members(group_idnumber, user_idnumber), or Moodle's
// cohort_members(cohortid, userid), whose columns hold surrogate ids.
type Join struct {
	Table  string // the join table
	Owner  string // its column that holds the object: group_idnumber, cohortid
	Member string // its column that holds the element: user_idnumber, userid
	// OwnerID is the column of the Mapping's table that Owner holds, such
	// as a surrogate "id"; empty, it is the key column.
	OwnerID string
	// Lookup, when set, says that Member holds a surrogate id of another
	// table, found by the element: the user whose idnumber is the element.
	Lookup *Lookup
	// Insert is column -> value for other columns of the rows added, as
	// the Mapping's Insert: {"timeadded": unixNow}.
	Insert map[string]any
}

// Lookup finds the rows of a table by their key: the surrogate ID of the
// row whose Key column holds an element, among the rows of Scope.
type Lookup struct {
	Table string         // user
	ID    string         // the column a join table holds: id
	Key   string         // the column that holds the element: idnumber
	Scope map[string]any // optional: the rows looked up, {"deleted": 0}
}

// SoftDelete is the column that marks a row deleted, and its two values:
// {Column: "deleted", Deleted: 1, Live: 0}, or {"suspended", true, false}.
type SoftDelete struct {
	Column  string // the column: deleted, suspended
	Deleted any    // its value in a deleted row: 1, true
	Live    any    // its value in a live row: 0, false
}

// Map declares the Mapping of branch to table: the column key holds the
// object's idnumber, and every synced scalar attribute of the branch's
// object type is stored in the column of its name, unless the Mapping's
// Columns rename it. The branch only lends its name and object type; set
// its Importer to the Mapping to import through it. A branch with a list
// attribute must not be Unique: the import yields one record per element.
//
// Every table and column name is one identifier, quoted for the dialect,
// so it may come from configuration: a schema-qualified "public.users" is
// a table of that name. The connection chooses the schema (PostgreSQL's
// search_path, MySQL's database).
//
// Map does not fail: a declaration that does not fit the object type is
// the *SchemaError of the Mapping's first use, with every problem.
func Map[K cmp.Ordered, T any](branch *dss.Branch[K, T], table, key string) *Mapping {
	m := &Mapping{table: table, key: key, typ: reflect.TypeFor[T]()}
	if branch != nil {
		m.branch = branch.Name()
	}
	return m
}

// Branch returns the name of the branch the Mapping writes: dss.Combine
// hands it that branch's actions only.
func (m *Mapping) Branch() string { return m.branch }

// Implements reports whether the Mapping writes actions named name:
// new_<branch> and old_<branch>, update_<attr> for its scalar attributes,
// add_<attr>_to_<branch> and remove_<attr>_from_<branch> for its lists.
func (m *Mapping) Implements(name string) bool {
	c, err := m.config()
	if err != nil {
		return false
	}
	_, ok := c.actions[name]
	return ok
}

// config compiles the Mapping's declaration once.
func (m *Mapping) config() (*config, error) {
	if m.cfg == nil && m.cfgErr == nil {
		m.cfg, m.cfgErr = m.compile()
	}
	return m.cfg, m.cfgErr
}

// config is a Mapping's declaration, checked and compiled.
type config struct {
	obj     *objType
	key     *column   // the key column
	cols    []*column // the scalar attributes' columns, in field order
	lists   []*list
	scope   []konst // sorted by column
	live    *konst  // the soft delete column's live value
	deleted *konst  // and its deleted value
	insert  []konst // sorted by column
	stamps  []stamp // sorted by column
	actions map[string]action
}

// column is a column that holds an attribute (or the idnumber).
type column struct {
	name string
	attr string // the attribute, "idnumber" for the key
	a    attr   // the attribute of the Mapping's object type
	kind baseKind
	// Found in the schema:
	store  storage
	prec   int    // fractional second digits a timestamp keeps
	pgType string // the type PostgreSQL's arrays are cast to
}

// list is a list attribute in a join table.
type list struct {
	attr string
	a    attr
	join Join
	kind baseKind
	// The join table's columns, with their types from the schema.
	owner, member *column
	ownerID       *column // the Mapping's table's column that Owner holds
	lookupID      *column // Lookup.ID
	lookupKey     *column // Lookup.Key
	lookupScope   []konst
	insert        []konst // Join.Insert
}

// konst is a column and a constant value.
type konst struct {
	col string
	val any
	typ string // PostgreSQL type, for arrays
}

type stamp struct {
	col string
	f   func() any
	typ string
}

// action is what the Mapping does for an action name.
type action struct {
	kind dss.Kind
	col  *column // update
	list *list   // add, remove
}

func (m *Mapping) compile() (*config, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if m.branch == "" {
		bad("no branch (Map was given a nil branch, or one that dss.New did not make)")
	}
	if m.table == "" {
		bad("no table")
	}
	if m.key == "" {
		bad("no key column")
	}
	obj, err := objectType(m.typ)
	if err != nil {
		return nil, m.declError([]string{err.Error()})
	}
	c := &config{obj: obj, actions: map[string]action{}}
	if k := kindOf(obj.id.base); obj.id.list || obj.id.null != notNull || k == kindOther {
		bad("the idnumber field has type %v", obj.id.typ)
	} else {
		c.key = &column{name: m.key, attr: dss.IDKey, a: obj.id, kind: k}
	}
	c.actions["new_"+m.branch] = action{kind: dss.KindNew}
	c.actions["old_"+m.branch] = action{kind: dss.KindOld}
	used := map[string]string{m.key: dss.IDKey} // column -> what holds it
	use := func(col, what string) {
		if prev, ok := used[col]; ok {
			bad("column %q holds both %s and %s", col, prev, what)
		}
		used[col] = what
	}
	for name, col := range m.Columns {
		if i, ok := obj.byKey[name]; !ok || obj.attrs[i].list {
			bad("Columns renames %q, which is no scalar attribute of %v", name, m.typ)
		} else if col == "" {
			bad("Columns renames %q to an empty name", name)
		}
	}
	for name := range m.Lists {
		if i, ok := obj.byKey[name]; !ok || !obj.attrs[i].list {
			bad("Lists has %q, which is no list attribute of %v", name, m.typ)
		}
	}
	for _, a := range obj.attrs {
		k := kindOf(a.base)
		if k == kindOther {
			bad("attribute %q has type %v, which no column holds", a.key, a.typ)
			continue
		}
		if !a.list {
			name := a.key
			if r, ok := m.Columns[a.key]; ok {
				name = r
			}
			use(name, "attribute "+a.key)
			col := &column{name: name, attr: a.key, a: a, kind: k}
			c.cols = append(c.cols, col)
			c.actions["update_"+a.key] = action{kind: dss.KindUpdate, col: col}
			continue
		}
		j, ok := m.Lists[a.key]
		if !ok {
			bad("list attribute %q has no join table (set Lists[%q])", a.key, a.key)
			continue
		}
		if j.Table == "" || j.Owner == "" || j.Member == "" {
			bad("Lists[%q] needs Table, Owner and Member", a.key)
			continue
		}
		l := &list{attr: a.key, a: a, join: j, kind: k,
			owner:  &column{name: j.Owner, attr: a.key},
			member: &column{name: j.Member, attr: a.key, kind: k},
		}
		if j.OwnerID != "" && j.OwnerID != m.key {
			l.ownerID = &column{name: j.OwnerID}
		}
		if lk := j.Lookup; lk != nil {
			if lk.Table == "" || lk.ID == "" || lk.Key == "" {
				bad("Lists[%q].Lookup needs Table, ID and Key", a.key)
				continue
			}
			l.lookupID = &column{name: lk.ID}
			l.lookupKey = &column{name: lk.Key, attr: a.key, kind: k}
			l.lookupScope = konsts(lk.Scope)
		}
		l.insert = konsts(j.Insert)
		for col, v := range j.Insert {
			if _, ok := v.(func() any); !ok {
				if _, err := plainValue(v); err != nil {
					bad("Lists[%q].Insert[%q] is %T: want a string, number, boolean, time, nil or func() any", a.key, col, v)
				}
			}
			if col == j.Owner || col == j.Member {
				bad("Lists[%q].Insert sets %q, which holds the owner or the element", a.key, col)
			}
		}
		c.lists = append(c.lists, l)
		c.actions["add_"+a.key+"_to_"+m.branch] = action{kind: dss.KindAdd, list: l}
		c.actions["remove_"+a.key+"_from_"+m.branch] = action{kind: dss.KindRemove, list: l}
	}
	c.scope = konsts(m.Scope)
	for _, k := range c.scope {
		use(k.col, "a Scope value")
	}
	if sd := m.SoftDelete; sd != nil {
		if sd.Column == "" || sd.Deleted == nil || sd.Live == nil || reflect.DeepEqual(sd.Deleted, sd.Live) {
			bad("SoftDelete needs a Column and two different values, Deleted and Live")
		} else {
			use(sd.Column, "SoftDelete")
			c.live = &konst{col: sd.Column, val: sd.Live}
			c.deleted = &konst{col: sd.Column, val: sd.Deleted}
		}
	}
	c.insert = konsts(m.Insert)
	for _, k := range c.insert {
		use(k.col, "an Insert value")
	}
	for _, col := range slices.Sorted(maps.Keys(m.Stamps)) {
		f := m.Stamps[col]
		if f == nil {
			bad("Stamps[%q] is nil", col)
			continue
		}
		use(col, "a Stamp")
		c.stamps = append(c.stamps, stamp{col: col, f: f})
	}
	for col, v := range m.Scope {
		if _, err := plainValue(v); err != nil || v == nil {
			bad("Scope[%q] is %T: want a string, number, boolean or time", col, v)
		}
	}
	for col, v := range m.Insert {
		if _, ok := v.(func() any); !ok {
			if _, err := plainValue(v); err != nil {
				bad("Insert[%q] is %T: want a string, number, boolean, time, nil or func() any", col, v)
			}
		}
	}
	if len(problems) > 0 {
		return nil, m.declError(problems)
	}
	return c, nil
}

func konsts(m map[string]any) []konst {
	var ks []konst
	for _, col := range slices.Sorted(maps.Keys(m)) {
		if f, ok := m[col].(func() any); ok {
			ks = append(ks, konst{col: col, val: f})
			continue
		}
		v, err := plainValue(m[col])
		if err != nil {
			v = m[col] // compile reports it
		}
		ks = append(ks, konst{col: col, val: v})
	}
	return ks
}

// SchemaError is a Mapping's error for a declaration that does not fit
// the database, or does not fit its object type: every problem at once.
// Nothing was read or written.
type SchemaError struct {
	Branch   string   // the branch the Mapping stores
	Table    string   // its table
	Problems []string // one line per problem
}

// Error lists every problem, separated by "; ".
func (e *SchemaError) Error() string {
	return fmt.Sprintf("dsssql: mapping of branch %s to table %s: %s", e.Branch, e.Table, strings.Join(e.Problems, "; "))
}

func (m *Mapping) declError(problems []string) error {
	return &SchemaError{Branch: m.branch, Table: m.table, Problems: problems}
}

// errNoDB is the error of a Mapping used without its DB.
var errNoDB = errors.New("no DB: set the Mapping's DB to the run's transaction")

// What a Mapping is, checked by the compiler.
var (
	_ dss.RowImporter = (*Mapping)(nil)
	_ dss.Positioner  = (*Mapping)(nil)
	_ dss.Template    = (*Mapping)(nil)
	_ dss.Brancher    = (*Mapping)(nil)
	_ dss.Implementer = (*Mapping)(nil)
)
