package dsssql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/datastoresync/dss"
)

// Rows per chunk: the actions written between a savepoint and its release,
// in statements of their rows (PostgreSQL: one per step, its parameters
// arrays; SQLite and MySQL: multi-row statements of up to stmtRows rows,
// then half as many, and half again, down to one, each size prepared once
// per transaction). A chunk bounds the memory of its rows and the work of
// finding a failing one. The sizes are usersync's hand-written writer's,
// measured there: 1,024 rows per statement inserted 100,000 users in SQLite
// in 0.26-0.34 s, one row per statement in 0.64-0.75 s.
//
// A batch of fewer than minChunk actions of one statement each is written
// one action at a time, without a savepoint (see Apply).
const (
	chunkRows = 8192
	stmtRows  = 1024
	minChunk  = 4
)

// Apply writes a batch of the branch's actions, all with the same name, in
// bulk in the Mapping's DB. An action that fails is found again by writing
// its chunk's actions one at a time after a rollback to the chunk's
// savepoint, and reported as a *dss.BatchError: the actions before it are
// written, the ones after it not, and the transaction is still usable.
//
// A batch of fewer than four actions that write one statement each (an
// update, an element added or removed, an old row deleted) is written
// without a savepoint: a plan of alternating updates has thousands of such
// batches, and a savepoint is two more round trips each. A failing
// statement there changes nothing, but on PostgreSQL it aborts the
// transaction: roll it back (as with dss.StopOnError).
//
// An update that finds no row to set (deleted, or out of the Scope, since
// the import) is its action's error, on PostgreSQL and SQLite; MySQL counts
// the rows an UPDATE changed, not those it matched, so it is not checked.
func (m *Mapping) Apply(ctx context.Context, batch []dss.Action) error {
	if len(batch) == 0 {
		return nil
	}
	if _, ok := m.DB.(*sql.DB); ok {
		// Its savepoints and statements would go to any of its pooled
		// connections, and a savepoint outside a transaction begins one.
		return m.errorf("%w", errPool)
	}
	r, c, err := m.ready(ctx)
	if err != nil {
		return err
	}
	a := batch[0]
	act, ok := c.actions[a.Name]
	if !ok || (a.Branch != "" && a.Branch != m.branch) {
		return m.errorf("%w: %s of branch %s", dss.ErrNotImplemented, a.Name, a.Branch)
	}
	w := &writer{m: m, r: r, c: c, ctx: ctx, batch: batch, full: batch}
	w.show = w.mayShow()
	if err := w.plan(act); err != nil {
		return err
	}
	if err := w.writeAll(); err != nil {
		return err
	}
	if w.fail != nil {
		return w.fail
	}
	return nil
}

// writeAll writes the actions of w.batch.
func (w *writer) writeAll() error {
	batch, r := w.batch, w.r
	if len(batch) < minChunk && len(w.steps) == 1 {
		// A few actions of one statement each: no savepoint, whose two
		// round trips would triple the cost of a plan of alternating
		// updates, one action per batch. A failed statement changed
		// nothing, but on PostgreSQL it aborts the transaction.
		for i := range batch {
			if err := w.write(i, i+1); err != nil {
				var re *rowError
				if errors.As(err, &re) {
					err = re.err // a value that cannot be written: no statement ran
				} else if r.d == Postgres && !errors.Is(err, errNoRow) {
					err = fmt.Errorf("%w (the transaction is aborted)", err)
				}
				return &dss.BatchError{Index: i, Err: w.rowErr(&batch[i], err)}
			}
		}
		return nil
	}
	for s := 0; s < len(batch); {
		e, rows := s, 0
		for e < len(batch) && (e == s || rows < chunkRows) {
			rows += w.weight(e)
			e++
		}
		if err := w.chunk(s, e); err != nil {
			return err
		}
		s = e
	}
	return nil
}

// writer writes one batch.
type writer struct {
	m     *Mapping
	r     *runState
	c     *config
	ctx   context.Context
	batch []dss.Action
	full  []dss.Action    // the batch before stop cut it
	show  bool            // errors may show values (mayShow)
	fail  *dss.BatchError // the error of the action stop cut the batch at
	steps []*step
	// weight is the number of rows action i writes, roughly.
	weight func(i int) int
	// For soft delete: the new objects whose row is there, marked deleted.
	revived map[int]bool
	buf     []any
	rows    []any // the rows of a step, reused
}

// A step is one statement of each action: an op, its constants, and the
// action's rows.
type step struct {
	o      *op
	consts []any
	// resolve looks up what the rows of actions [s, e) need.
	resolve func(s, e int) error
	// rows adds the rows of action i.
	rows func(i int, add func(vals ...any)) error
	// matchAll says that each row must match a row of the table: an
	// update that sets nothing fails (see matched).
	matchAll bool
}

// errPool is Apply's error for a DB that is a pool of connections.
var errPool = errors.New("Apply needs the run's transaction (a *sql.Tx), not a *sql.DB")

// rowError is an error of one action, at index of the batch.
type rowError struct {
	index int
	err   error
}

func (e *rowError) Error() string { return e.err.Error() }
func (e *rowError) Unwrap() error { return e.err }

// plan sets the steps of the batch's actions.
func (w *writer) plan(act action) error {
	c, o := w.c, &w.r.ops
	stamps := make([]any, len(c.stamps))
	for i, st := range c.stamps {
		v, err := plainValue(st.f())
		if err != nil {
			return w.m.errorf("Stamps[%q]: %w", st.col, err)
		}
		stamps[i] = utc(v)
	}
	scope := make([]any, 0, len(c.scope)+1)
	for _, k := range c.scope {
		scope = append(scope, k.val)
	}
	live := scope
	if c.live != nil {
		live = append(scope[:len(scope):len(scope)], c.live.val)
	}
	w.weight = func(int) int { return 1 }
	switch act.kind {
	case dss.KindUpdate:
		cl := act.col
		w.steps = []*step{{o: o.update[cl], consts: append(stamps[:len(stamps):len(stamps)], live...), matchAll: true,
			rows: func(i int, add func(...any)) error {
				a := &w.batch[i]
				v, err := w.m.value(cl, a.Value, w.show)
				if err != nil {
					return err
				}
				key, err := w.key(a)
				if err != nil {
					return err
				}
				add(v, key)
				return nil
			}}}
	case dss.KindNew:
		if err := w.planNew(stamps, scope, live); err != nil {
			return err
		}
	case dss.KindOld:
		for _, l := range c.lists {
			w.steps = append(w.steps, &step{o: o.joinOwner[l], resolve: w.resolveOwners(l),
				rows: func(i int, add func(...any)) error {
					id, err := w.ownerID(l, i)
					if err == nil {
						add(id)
					}
					return err
				}})
		}
		consts := live
		if c.live != nil {
			consts = append(append([]any{c.deleted.val}, stamps...), live...)
		}
		w.steps = append(w.steps, &step{o: o.del, consts: consts,
			rows: func(i int, add func(...any)) error {
				key, err := w.key(&w.batch[i])
				if err == nil {
					add(key)
				}
				return err
			}})
	case dss.KindAdd, dss.KindRemove:
		l := act.list
		jo := o.joinInsert[l]
		if act.kind == dss.KindRemove {
			jo = o.joinDelete[l]
		}
		ownersOf := w.resolveOwners(l)
		membersOf := w.resolveMembers(l, func(i int) []any { return []any{w.batch[i].Value} })
		var extra []any
		if act.kind == dss.KindAdd {
			var err error
			if extra, err = w.values(l.insert, "Lists["+strconv.Quote(l.attr)+"].Insert"); err != nil {
				return err
			}
		}
		w.steps = []*step{{o: jo,
			resolve: func(s, e int) error {
				if err := ownersOf(s, e); err != nil {
					return err
				}
				return membersOf(s, e)
			},
			rows: func(i int, add func(...any)) error {
				owner, err := w.ownerID(l, i)
				if err != nil {
					return err
				}
				member, err := w.memberID(l, w.batch[i].Value)
				if err != nil {
					return err
				}
				w.buf = append(append(w.buf[:0], owner, member), extra...)
				add(w.buf...)
				return nil
			}}}
	}
	return nil
}

// planNew sets the steps of new objects: revive the rows marked deleted,
// insert the others, then write their lists.
func (w *writer) planNew(stamps, scope, live []any) error {
	c, o := w.c, &w.r.ops
	srcs := make([]*srcPlan, len(w.batch))
	objs := make([]reflect.Value, len(w.batch))
	for i := range w.batch {
		a := &w.batch[i]
		rv := reflect.ValueOf(a.Source)
		var err error
		var p *srcPlan
		if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() {
			err = errors.New("the action has no source object")
		} else {
			p, err = w.r.srcPlan(c, rv.Type())
		}
		if err != nil {
			// The actions before it are written, then it fails.
			w.stop(i, err)
			srcs, objs = srcs[:i], objs[:i]
			break
		}
		srcs[i], objs[i] = p, rv.Elem()
	}
	w.weight = func(i int) int {
		n := 1
		for k := range c.lists {
			n += objs[i].Field(srcs[i].lists[k]).Len()
		}
		return n
	}
	if c.live != nil {
		if err := w.findRevived(scope); err != nil {
			return err
		}
	}
	attrs := func(i int, vals []any) ([]any, error) {
		for k, cl := range c.cols {
			v, err := w.m.value(cl, objs[i].Field(srcs[i].cols[k]).Interface(), w.show)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		return vals, nil
	}
	inserts, err := w.values(c.insert, "Insert")
	if err != nil {
		return err
	}
	if c.live != nil {
		consts := append([]any{c.live.val}, inserts...)
		consts = append(consts, stamps...)
		consts = append(consts, scope...)
		consts = append(consts, c.deleted.val)
		w.steps = append(w.steps, &step{o: o.revive, consts: consts,
			rows: func(i int, add func(...any)) error {
				if !w.revived[i] {
					return nil
				}
				vals, err := attrs(i, w.buf[:0])
				if err != nil {
					return err
				}
				key, err := w.key(&w.batch[i])
				if err != nil {
					return err
				}
				w.buf = append(vals, key)
				add(w.buf...)
				return nil
			}})
	}
	w.steps = append(w.steps, &step{o: o.insert,
		rows: func(i int, add func(...any)) error {
			if w.revived[i] {
				return nil
			}
			key, err := w.key(&w.batch[i])
			if err != nil {
				return err
			}
			vals, err := attrs(i, append(w.buf[:0], key))
			if err != nil {
				return err
			}
			vals = append(vals, live...)
			vals = append(vals, inserts...)
			vals = append(vals, stamps...)
			w.buf = vals
			add(vals...)
			return nil
		}})
	for k, l := range c.lists {
		elems := func(i int) []any {
			f := objs[i].Field(srcs[i].lists[k])
			out := make([]any, f.Len())
			for j := range out {
				out[j] = f.Index(j).Interface()
			}
			return out
		}
		ownersOf := w.resolveOwners(l)
		if c.live != nil {
			// A revived object's old elements go; its new ones come.
			w.steps = append(w.steps, &step{o: o.joinOwner[l], resolve: ownersOf,
				rows: func(i int, add func(...any)) error {
					if !w.revived[i] {
						return nil
					}
					id, err := w.ownerID(l, i)
					if err == nil {
						add(id)
					}
					return err
				}})
		}
		membersOf := w.resolveMembers(l, elems)
		extra, err := w.values(l.insert, "Lists["+strconv.Quote(l.attr)+"].Insert")
		if err != nil {
			return err
		}
		w.steps = append(w.steps, &step{o: o.joinInsert[l],
			resolve: func(s, e int) error {
				if err := ownersOf(s, e); err != nil {
					return err
				}
				return membersOf(s, e)
			},
			rows: func(i int, add func(...any)) error {
				es := elems(i)
				if len(es) == 0 {
					return nil
				}
				owner, err := w.ownerID(l, i)
				if err != nil {
					return err
				}
				for _, e := range es {
					member, err := w.memberID(l, e)
					if err != nil {
						return err
					}
					w.buf = append(append(w.buf[:0], owner, member), extra...)
					add(w.buf...)
				}
				return nil
			}})
	}
	return nil
}

// utc returns a time in UTC, as the Mapping writes every time (see value),
// and any other value as it is.
func utc(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	return v
}

// values returns the values of ks for this batch: a func() any is called.
func (w *writer) values(ks []konst, what string) ([]any, error) {
	vals := make([]any, len(ks))
	for i, k := range ks {
		vals[i] = k.val
		if f, ok := k.val.(func() any); ok {
			v, err := plainValue(f())
			if err != nil {
				return nil, w.m.errorf("%s[%q]: %w", what, k.col, err)
			}
			vals[i] = utc(v)
		}
	}
	return vals, nil
}

// stop makes the batch end before action i, which fails with err once
// the actions before it are written.
func (w *writer) stop(i int, err error) {
	w.batch = w.batch[:i]
	w.fail = &dss.BatchError{Index: i, Err: w.rowErr(&w.full[i], err)}
}

// key returns the action's idnumber as the key column stores it.
func (w *writer) key(a *dss.Action) (any, error) {
	if w.c.key.kind == kindString {
		return a.ID, nil
	}
	if a.Source != nil {
		rv := reflect.ValueOf(a.Source)
		if rv.Kind() == reflect.Pointer && !rv.IsNil() {
			if p, err := w.r.srcPlan(w.c, rv.Type()); err == nil {
				return plainReflect(rv.Elem().Field(p.id))
			}
		}
	}
	return w.c.keyOf(a.ID)
}

// keyOf returns the idnumber id, as text, as the key column stores it.
func (c *config) keyOf(id string) (any, error) {
	switch c.key.kind {
	case kindInt:
		return strconv.ParseInt(id, 10, 64)
	case kindFloat:
		return strconv.ParseFloat(id, 64)
	case kindBool:
		return strconv.ParseBool(id)
	}
	return id, nil
}

// findRevived finds the new objects whose row is there, in scope and
// marked deleted.
func (w *writer) findRevived(scope []any) error {
	w.revived = map[int]bool{}
	keys := make([]any, len(w.batch))
	for i := range w.batch {
		k, err := w.key(&w.batch[i])
		if err != nil {
			w.stop(i, err)
			keys = keys[:i]
			break
		}
		keys[i] = k
	}
	found, err := w.lookup(w.m.table, w.c.key, w.c.key, append(konstsOf(w.c.scope), *w.c.deleted), keys)
	if err != nil {
		return w.m.errorf("%s: find rows marked deleted: %w", w.batch[0].Name, err)
	}
	for i, k := range keys {
		if _, ok := found[keyText(k)]; ok {
			w.revived[i] = true
		}
	}
	return nil
}

func konstsOf(ks []konst) []konst { return ks[:len(ks):len(ks)] }

// resolveOwners returns the resolve of the owners' surrogate ids, if l's
// join table holds them.
func (w *writer) resolveOwners(l *list) func(s, e int) error {
	return func(s, e int) error {
		if l.ownerID == nil {
			return nil
		}
		var keys []any
		for i := s; i < e; i++ {
			k, err := w.key(&w.batch[i])
			if err != nil {
				return &rowError{i, err}
			}
			keys = w.unknown(l.ownerID, keys, k)
		}
		return w.resolve(w.m.table, w.c.key, l.ownerID, konstsOf(w.c.scope), keys)
	}
}

// resolveMembers returns the resolve of the elements' surrogate ids, if
// l's join table holds them.
func (w *writer) resolveMembers(l *list, elems func(i int) []any) func(s, e int) error {
	return func(s, e int) error {
		if l.join.Lookup == nil {
			return nil
		}
		var keys []any
		for i := s; i < e; i++ {
			for _, el := range elems(i) {
				v, err := plainValue(el)
				if err != nil {
					return &rowError{i, err}
				}
				keys = w.unknown(l.lookupID, keys, v)
			}
		}
		return w.resolve(l.join.Lookup.Table, l.lookupKey, l.lookupID, l.lookupScope, keys)
	}
}

// unknown appends key to keys unless the id of the column col for it is
// known already, or key is in keys.
func (w *writer) unknown(col *column, keys []any, key any) []any {
	ids := w.r.ids[col]
	if ids == nil {
		ids = map[string]any{}
		w.r.ids[col] = ids
	}
	t := keyText(key)
	if _, ok := ids[t]; ok {
		return keys
	}
	ids[t] = nil // asked for: found below, or deleted again
	return append(keys, key)
}

// resolve looks up the ids of keys and remembers those found: a row's
// surrogate id stays the same to the end of the transaction (a revived
// row keeps its own, and the plan deletes objects after every other
// change). The ids not found are forgotten.
func (w *writer) resolve(table string, key, col *column, scope []konst, keys []any) error {
	if len(keys) == 0 {
		return nil
	}
	found, err := w.lookup(table, key, col, scope, keys)
	ids := w.r.ids[col]
	for _, k := range keys {
		t := keyText(k)
		if id, ok := found[t]; ok && err == nil {
			ids[t] = id
		} else {
			delete(ids, t)
		}
	}
	return err
}

// ownerID returns what l's Owner column holds for action i.
func (w *writer) ownerID(l *list, i int) (any, error) {
	key, err := w.key(&w.batch[i])
	if err != nil || l.ownerID == nil {
		return key, err
	}
	id, ok := w.r.ids[l.ownerID][keyText(key)]
	if !ok {
		return nil, fmt.Errorf("no row of %s with %s %s", w.m.table, w.c.key.name, w.m.showKey(key))
	}
	return id, nil
}

// memberID returns what l's Member column holds for the element e.
func (w *writer) memberID(l *list, e any) (any, error) {
	v, err := plainValue(e)
	if err != nil || l.join.Lookup == nil {
		return v, err
	}
	id, ok := w.r.ids[l.lookupID][keyText(v)]
	if !ok {
		return nil, fmt.Errorf("element %s: no row of %s with %s %s", w.m.showKey(v), l.join.Lookup.Table, l.join.Lookup.Key, w.m.showKey(v))
	}
	return id, nil
}

// showKey writes a key for an error: keys are idnumbers, which errors show.
func (m *Mapping) showKey(v any) string { return strconv.Quote(keyText(v)) }

// keyText is a key's text, the same whether the database returned it as
// text, bytes or a number.
func keyText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

// lookup returns the value of column val of the rows of table whose column
// key holds one of keys, among the rows of scope, by key text.
func (w *writer) lookup(table string, key, val *column, scope []konst, keys []any) (map[string]any, error) {
	found := make(map[string]any, len(keys))
	d := w.r.d
	per := stmtRows
	if d == Postgres {
		per = chunkRows
	}
	for len(keys) > 0 {
		n := min(per, len(keys))
		if d != Postgres {
			for n&(n-1) != 0 {
				n &= n - 1 // a power of two: one statement per size
			}
		}
		s := &sqlText{d: d}
		s.w("SELECT ")
		s.q(key.name)
		s.w(", ")
		s.q(val.name)
		s.w(" FROM ")
		s.q(table)
		s.w(" WHERE ")
		s.q(key.name)
		var args []any
		if d == Postgres {
			s.w(" = ANY (")
			s.ph(argSrc{})
			s.w(arrayCast(key.pgType) + ")")
			args = append(args, keys[:n])
		} else {
			s.w(" IN (")
			for i := range n {
				if i > 0 {
					s.w(", ")
				}
				s.ph(argSrc{})
				args = append(args, keys[i])
			}
			s.w(")")
		}
		for _, k := range scope {
			s.w(" AND ")
			s.q(k.col)
			s.w(" = ")
			s.ph(argSrc{})
			args = append(args, k.val)
		}
		rows, err := w.r.db.QueryContext(w.ctx, s.b.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("look up %s.%s: %w", table, val.name, err)
		}
		for rows.Next() {
			var k, v any
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up %s.%s: %w", table, val.name, err)
			}
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			found[keyText(k)] = v
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("look up %s.%s: %w", table, val.name, err)
		}
		keys = keys[n:]
	}
	return found, nil
}

// chunk writes the actions [s, e) between a savepoint and its release. When
// a statement fails, it rolls back to the savepoint and writes the actions
// one at a time to find the one that fails, then writes those before it
// again.
func (w *writer) chunk(s, e int) error {
	if err := w.exec(`SAVEPOINT dsssql`); err != nil {
		return &dss.BatchError{Index: s, Err: w.m.errorf("%s: %w", w.batch[s].Name, err)}
	}
	err := w.write(s, e)
	if err == nil {
		if err := w.exec(`RELEASE SAVEPOINT dsssql`); err != nil {
			return &dss.BatchError{Index: s, Err: w.m.errorf("%s: %w", w.batch[s].Name, err)}
		}
		return nil
	}
	fail := func(i int, err error) error {
		return &dss.BatchError{Index: i, Err: w.rowErr(&w.batch[i], err)}
	}
	if cerr := w.ctx.Err(); cerr != nil {
		return fail(s, err)
	}
	if rerr := w.rollback(); rerr != nil {
		return fail(s, fmt.Errorf("%w (and the rollback to the savepoint failed: %v)", err, rerr))
	}
	var re *rowError
	f := -1
	if errors.As(err, &re) {
		f, err = re.index, re.err
	} else if e-s > 1 {
		for i := s; i < e && f < 0; i++ {
			if ierr := w.write(i, i+1); ierr != nil {
				f, err = i, ierr
				if errors.As(ierr, &re) {
					err = re.err
				}
			}
		}
		if rerr := w.rollback(); rerr != nil {
			return fail(s, fmt.Errorf("%w (and the rollback to the savepoint failed: %v)", err, rerr))
		}
		if f < 0 {
			return &dss.BatchError{Index: s, Err: w.m.errorf("%s: actions %d to %d fail together, each alone does not: %w",
				w.batch[s].Name, s+1, e, w.hide(err))}
		}
	} else {
		f = s
	}
	if err := w.exec(`RELEASE SAVEPOINT dsssql`); err != nil {
		return fail(s, err)
	}
	if f > s {
		if err := w.chunk(s, f); err != nil {
			return err
		}
	}
	return fail(f, err)
}

// rollback rolls back to the chunk's savepoint, and forgets the ids looked
// up since: a row inserted again gets a new one.
func (w *writer) rollback() error {
	clear(w.r.ids)
	return w.exec(`ROLLBACK TO SAVEPOINT dsssql`)
}

func (w *writer) exec(query string) error {
	_, err := w.r.db.ExecContext(w.ctx, query)
	return err
}

// write runs every step for the actions [s, e), without a savepoint.
func (w *writer) write(s, e int) error {
	rows := w.rows
	defer func() { w.rows = rows[:0] }()
	for _, st := range w.steps {
		if st.resolve != nil {
			if err := st.resolve(s, e); err != nil {
				return err
			}
		}
		n := 0
		width := len(st.o.cols)
		if need := (e - s) * width; cap(rows) < need {
			rows = make([]any, 0, need) // one row an object at least: grown once, not by doubling
		}
		rows = rows[:0]
		for i := s; i < e; i++ {
			err := st.rows(i, func(vals ...any) {
				rows = append(rows, vals[:width]...)
				n++
			})
			if err != nil {
				return &rowError{i, err}
			}
		}
		if n == 0 {
			continue
		}
		if err := w.run(st, rows, n); err != nil {
			return err
		}
	}
	return nil
}

// run executes st's op for n rows, given row by row in rows.
func (w *writer) run(st *step, rows []any, n int) error {
	width := len(st.o.cols)
	if w.r.d == Postgres && n > 1 {
		if st.o.copy { // an insert: its rows hold every value, no constants
			if copied, err := w.copyFrom(st.o, rows, n); copied {
				return err
			}
		}
		p, err := w.prepare(st.o, 0)
		if err != nil {
			return err
		}
		cols := make([]any, width)
		for c := range cols {
			cols[c] = arrayOf(rows, width, c, n)
		}
		args := make([]any, len(p.srcs))
		for i, src := range p.srcs {
			if src.row == arrayArg {
				args[i] = cols[src.col]
			} else {
				args[i] = st.consts[src.col]
			}
		}
		res, err := p.stmt.ExecContext(w.ctx, args...)
		if err == nil && st.matchAll {
			err = w.matched(res, n)
		}
		return err
	}
	most := stmtRows
	for most*width+len(st.consts) > w.r.d.maxParams() {
		most /= 2
	}
	args := make([]any, 0, min(n, most)*width+len(st.consts))
	for r := 0; r < n; {
		size := most
		for size > n-r {
			size /= 2
		}
		p, err := w.prepare(st.o, size)
		if err != nil {
			return err
		}
		args = args[:0]
		for _, src := range p.srcs {
			if src.row == constArg {
				args = append(args, st.consts[src.col])
			} else {
				args = append(args, rows[(r+src.row)*width+src.col])
			}
		}
		res, err := p.stmt.ExecContext(w.ctx, args...)
		if err == nil && st.matchAll {
			err = w.matched(res, size)
		}
		if err != nil {
			return err
		}
		r += size
	}
	return nil
}

// errNoRow is the error of an update that found no row to set: it was
// deleted, or left the Scope, since the import.
var errNoRow = errors.New("no row to update (deleted, or out of the Mapping's Scope, since the import?)")

// matched checks that a statement matched its n rows: the error of one that
// did not is treated as the statement's failure, so that the action whose
// row is missing is found one at a time and fails. MySQL is not checked:
// its count is of the rows changed, not of those matched, and a row whose
// value is equal already would count as missing.
func (w *writer) matched(res sql.Result, n int) error {
	if w.r.d == MySQL {
		return nil
	}
	got, err := res.RowsAffected()
	if err != nil || got >= int64(n) {
		return nil
	}
	return errNoRow
}

// arrayOf returns column c of the n rows (of width values each) as a
// PostgreSQL array parameter, a []any whose nil elements are NULL. (Typed
// slices, []string and the like, were no faster: BenchmarkInitialLoad/
// postgres/mapping, five runs each, 406-450 ms as []any, 424-478 ms typed.)
func arrayOf(rows []any, width, c, n int) any {
	col := make([]any, n)
	for r := range n {
		col[r] = rows[r*width+c]
	}
	return col
}

// prepare returns o's statement for n rows, prepared once per DB.
func (w *writer) prepare(o *op, n int) (*prepared, error) {
	k := stmtKey{o, n}
	if p, ok := w.r.stmts[k]; ok {
		return p, nil
	}
	text, srcs := w.r.d.build(o, n)
	st, err := w.r.db.PrepareContext(w.ctx, text)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", shortQuery(text), err)
	}
	p := &prepared{stmt: st, srcs: srcs}
	w.r.stmts[k] = p
	return p, nil
}

// rowErr is the error of action a.
func (w *writer) rowErr(a *dss.Action, err error) error {
	return fmt.Errorf("dsssql: %s idnumber %s (table %s): %w", a.Name, w.m.showKey(a.ID), w.m.table, w.hide(err))
}

// hide withholds the text of a MySQL error, which may quote the row's
// values ("Duplicate entry 'ada@example.com' for key 'email'"), of a
// PostgreSQL data exception and of pgx's error of a value it cannot
// encode, unless values may be shown: a database's error keeps its
// SQLSTATE (and MySQL's its number), and each unwraps to the driver's
// error.
func (w *writer) hide(err error) error {
	if w.show {
		return err
	}
	var re *rowError
	if errors.As(err, &re) {
		return err // written by this package, which shows no values
	}
	text := err.Error()
	if w.r.d == Postgres {
		// A data exception (SQLSTATE class 22: "invalid input syntax for
		// type uuid: ...") quotes the value; so does pgx's error of a value
		// it cannot encode, with the whole array of a statement's column.
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe):
			if strings.HasPrefix(pe.Code, "22") {
				return &withheld{text: pe.Severity + " (SQLSTATE " + pe.Code + ")", err: err}
			}
		case strings.Contains(text, "failed to encode") || strings.Contains(text, "unable to encode"): // pgx's words
			return &withheld{text: "pgx cannot encode a value", err: err}
		}
		return err
	}
	if w.r.d != MySQL {
		return err
	}
	if strings.HasPrefix(text, "Error ") {
		if i := strings.Index(text, ": "); i > 0 {
			return &withheld{text: text[:i], err: err}
		}
	}
	return err
}

// mayShow reports whether the batch's values may be shown in errors:
// ShowValues is set and no attribute of the batch is secret, in the
// Mapping's object type (those it writes), in the source's, or in the
// action (an update of a secret attribute).
func (w *writer) mayShow() bool {
	if !w.m.ShowValues {
		return false
	}
	for _, cl := range w.c.cols {
		if cl.a.secret {
			return false
		}
	}
	a := &w.batch[0]
	if a.Secret {
		return false
	}
	if t := reflect.TypeOf(a.Source); t != nil && t.Kind() == reflect.Pointer {
		if o, err := objectType(t.Elem()); err == nil {
			for _, cl := range w.c.cols {
				if i, ok := o.byKey[cl.attr]; ok && o.attrs[i].secret {
					return false
				}
			}
		}
	}
	return true
}

// withheld is an error whose message is withheld.
type withheld struct {
	text string
	err  error
}

func (e *withheld) Error() string {
	return e.text + ": the message is withheld, since it may quote values (set the Mapping's ShowValues to see it)"
}
func (e *withheld) Unwrap() error { return e.err }
