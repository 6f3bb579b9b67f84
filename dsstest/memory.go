package dsstest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"

	"github.com/datastoresync/dss"
)

// Memory is an in-memory destination: a template that implements every
// action of a destination tree, and the importer of each of its branches,
// so that a test can apply a plan, import the destination again and see
// what the plan did, without a database. [Converges] is the usual way to
// use one; NewMemory makes one for tests that look further.
//
// A Memory holds each object as a record of its idnumber and its synced
// attributes, the values in the Go types of the object's fields: what a
// plan can change. Keys that begin with "_" are not kept, so when the
// destination is imported from the Memory, Derive sees them empty; a
// destination type whose Derive sets synced attributes from them must
// leave those attributes alone when they are empty, or the plan will not
// converge.
//
// Apply is strict: an action that does not fit what the Memory holds (a
// new_ object that exists, an old_ or changed object that does not, an
// element added twice or removed when absent) fails, with a
// *dss.BatchError that says which. A plan made from the Memory's own
// import never does that.
type Memory struct {
	mu       sync.Mutex
	order    []string              // the destination's branches, in order
	branches map[string]*memBranch // by name
	sources  map[string]*layout    // the source's objects, for new_ actions
}

// memBranch is one branch of a Memory.
type memBranch struct {
	layout *layout
	objs   map[string]dss.Record // by idnumber as actions write it
}

// NewMemory returns a Memory that holds a copy of what ds.Dest holds now
// (nothing, if it was never imported), and makes ds.Dest import from it:
// every destination branch's Importer becomes the Memory's, and its Filter
// and Preprocess are removed, since the Memory yields attributes, not the
// raw records they were made from. Apply the plans of ds to it.
func NewMemory[S, D any](ds *dss.Datastore[S, D]) *Memory {
	m := &Memory{branches: map[string]*memBranch{}, sources: layoutsOf[S]()}
	layouts := layoutsOf[D]()
	for _, b := range branchesOf(ds.Dest) {
		mb := &memBranch{layout: layouts[b.name], objs: map[string]dss.Record{}}
		for id, obj := range b.all() {
			mb.objs[idText(id.Interface())] = mb.layout.record(obj.Elem())
		}
		m.order = append(m.order, b.name)
		m.branches[b.name] = mb
		b.setImporter(m.importer(b.name))
		b.clearRaw()
	}
	return m
}

// idText writes an idnumber as dss writes Action.ID.
func idText(id any) string { return fmt.Sprint(id) }

// Records returns a copy of what the Memory holds: each branch's records
// in idnumber order, values in the Go types of the destination's fields.
// Branches that hold nothing are left out.
func (m *Memory) Records() Records {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := Records{}
	for _, name := range m.order {
		if recs := m.branches[name].records(clone); len(recs) > 0 {
			out[name] = recs
		}
	}
	return out
}

// records copies the branch's records in idnumber order, each value
// through conv.
func (mb *memBranch) records(conv func(any) any) []dss.Record {
	recs := make([]dss.Record, 0, len(mb.objs))
	for _, r := range mb.objs {
		c := make(dss.Record, len(r))
		for k, v := range r {
			c[k] = conv(v)
		}
		recs = append(recs, c)
	}
	sortRecords(recs)
	return recs
}

// importer yields the branch's records as the Memory holds them when the
// import runs.
func (m *Memory) importer(name string) dss.Importer {
	return dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		m.mu.Lock()
		recs := m.branches[name].records(plain)
		m.mu.Unlock()
		for _, r := range recs {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Apply applies a batch of actions to the Memory: it is a dss.Template for
// every action of the destination. It stops at the first action that does
// not fit, returning a *dss.BatchError.
func (m *Memory) Apply(ctx context.Context, batch []dss.Action) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range batch {
		if err := m.apply(a); err != nil {
			return &dss.BatchError{Index: i, Err: fmt.Errorf("dsstest: memory: %w", err)}
		}
	}
	return nil
}

func (m *Memory) apply(a dss.Action) error {
	mb, ok := m.branches[a.Branch]
	if !ok {
		return fmt.Errorf("no branch %q", a.Branch)
	}
	rec, exists := mb.objs[a.ID]
	switch a.Kind {
	case dss.KindNew:
		if exists {
			return errors.New("the object exists")
		}
		sl, ok := m.sources[a.Branch]
		if !ok {
			return fmt.Errorf("the source tree has no branch %q", a.Branch)
		}
		src := reflect.ValueOf(a.Source)
		if src.Kind() != reflect.Pointer || src.Type().Elem() != sl.typ || src.IsNil() {
			return fmt.Errorf("the source object is a %T, not a *%v", a.Source, sl.typ)
		}
		mb.objs[a.ID] = sl.record(src.Elem())
		return nil
	case dss.KindError:
		return fmt.Errorf("a model error: %v", a.Err)
	}
	if !exists {
		return errors.New("no such object")
	}
	switch a.Kind {
	case dss.KindOld:
		delete(mb.objs, a.ID)
		return nil
	case dss.KindUpdate, dss.KindAdd, dss.KindRemove:
	default:
		return fmt.Errorf("unknown kind %v", a.Kind)
	}
	i, ok := mb.layout.byKey[a.Attr]
	if !ok {
		return fmt.Errorf("no attribute %q", a.Attr)
	}
	switch list := mb.layout.attrs[i].list; {
	case list && a.Kind == dss.KindUpdate:
		return fmt.Errorf("attribute %q is a list: it is added to and removed from, not updated", a.Attr)
	case !list && a.Kind != dss.KindUpdate:
		return fmt.Errorf("attribute %q is not a list", a.Attr)
	}
	fieldType := mb.layout.typ.Field(mb.layout.attrs[i].field).Type
	changed := maps.Clone(rec)
	if a.Kind == dss.KindUpdate {
		v := reflect.ValueOf(a.Value)
		if !v.IsValid() || v.Type() != fieldType {
			return fmt.Errorf("value %v is a %T, attribute %q is a %v", a.Value, a.Value, a.Attr, fieldType)
		}
		changed[a.Attr] = a.Value
		mb.objs[a.ID] = changed
		return nil
	}
	list := reflect.ValueOf(rec[a.Attr])
	if !list.IsValid() {
		list = reflect.Zero(fieldType)
	}
	elem := reflect.ValueOf(a.Value)
	if !elem.IsValid() || elem.Type() != fieldType.Elem() {
		return fmt.Errorf("element %v is a %T, attribute %q holds %v", a.Value, a.Value, a.Attr, fieldType.Elem())
	}
	at := -1
	for j := range list.Len() {
		if list.Index(j).Equal(elem) {
			at = j
			break
		}
	}
	switch {
	case a.Kind == dss.KindAdd && at >= 0:
		return fmt.Errorf("attribute %q holds %v already", a.Attr, a.Value)
	case a.Kind == dss.KindRemove && at < 0:
		return fmt.Errorf("attribute %q does not hold %v", a.Attr, a.Value)
	}
	out := reflect.MakeSlice(fieldType, 0, list.Len()+1)
	for j := range list.Len() {
		if j != at {
			out = reflect.Append(out, list.Index(j))
		}
	}
	if a.Kind == dss.KindAdd {
		out = reflect.Append(out, elem)
		sortList(out)
	}
	changed[a.Attr] = out.Interface()
	mb.objs[a.ID] = changed
	return nil
}
