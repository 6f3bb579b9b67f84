package dss

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"
	"unsafe"
)

// PlanVersion is the version of the plan's JSON schema that this package
// writes and reads.
const PlanVersion = 1

// Plan is a diff made data: the actions that make dest equal to source,
// with what is needed to apply them later and safely. It encodes to JSON
// (see MarshalJSON) so that a plan can be reviewed, saved and applied by a
// later run; ApplyPlan then refuses it if the destination has drifted.
type Plan struct {
	Source string // the source tree's name
	Dest   string // the destination tree's name
	// SourceCounts is the number of objects in each source branch.
	SourceCounts map[string]int
	// Fingerprints holds, per destination branch, a SHA-256 of its objects
	// when the plan was made; empty for plans that Apply makes and uses at
	// once.
	Fingerprints map[string]string
	Actions      []Action
	// Summary counts the actions per branch.
	Summary Summary

	// sources holds, for a decoded plan, each action's source object as a
	// record, to be decoded into the source tree's types by ApplyPlan.
	sources []Record
}

// Plan computes the plan of t.Diff(dst), with a fingerprint of each
// destination branch. It fails, computing nothing, if either tree's last
// import failed.
func (t *Tree[T]) Plan(dst AnyTree) (*Plan, error) {
	s, d := &t.t, dst.core()
	if tr := failedImport(s, d); tr != nil {
		return nil, fmt.Errorf("dss: plan %s to %s: import of %s failed: %w", s.name, d.name, tr.name, tr.importErr)
	}
	p := makePlan(s, d)
	p.Fingerprints = d.fingerprints()
	return p, nil
}

// failedImport returns the first tree whose last import failed, or nil.
func failedImport(trees ...*tree) *tree {
	for _, tr := range trees {
		if tr.importErr != nil {
			return tr
		}
	}
	return nil
}

// makePlan collects the plan of s to d; the callers have checked the imports.
func makePlan(s, d *tree) *Plan {
	p := &Plan{Source: s.name, Dest: d.name, SourceCounts: map[string]int{}}
	for _, b := range s.branches {
		p.SourceCounts[b.Name()] = b.Len()
	}
	sum, _ := summarize(s, d, diffTrees(s, d), func(a Action) error {
		p.Actions = append(p.Actions, a)
		return nil
	})
	p.Summary = sum
	return p
}

// fingerprints hashes every branch of the tree.
func (t *tree) fingerprints() map[string]string {
	fp := map[string]string{}
	for _, b := range t.branches {
		fp[b.Name()] = fingerprint(b)
	}
	return fp
}

// fingerprint is a SHA-256 over a branch's objects in idnumber order, every
// field included, in a canonical binary form.
func fingerprint(b branch) string {
	h := sha256.New()
	p := b.objPlan()
	var buf []byte
	for obj := range b.objects() {
		buf = buf[:0]
		for fi := range p.fields {
			f := &p.fields[fi]
			buf = appendCanonical(buf, reflect.NewAt(f.typ, f.ptr(obj)).Elem())
		}
		buf = append(buf, 0xff)
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func appendCanonical(buf []byte, v reflect.Value) []byte {
	if v.Type() == timeType {
		t := *(*time.Time)(unsafe.Pointer(v.UnsafeAddr()))
		buf = binary.AppendVarint(buf, t.Unix())
		return binary.AppendVarint(buf, int64(t.Nanosecond()))
	}
	switch v.Kind() {
	case reflect.String:
		buf = binary.AppendUvarint(buf, uint64(v.Len()))
		return append(buf, v.String()...)
	case reflect.Bool:
		if v.Bool() {
			return append(buf, 1)
		}
		return append(buf, 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return binary.AppendUvarint(buf, v.Uint())
	case reflect.Float32, reflect.Float64:
		return binary.AppendUvarint(buf, math.Float64bits(v.Float()))
	case reflect.Slice:
		buf = binary.AppendUvarint(buf, uint64(v.Len()))
		for i := range v.Len() {
			buf = appendCanonical(buf, v.Index(i))
		}
		return buf
	}
	panic("dss: fingerprint of unsupported type " + v.Type().String())
}

// planJSON is the plan's JSON schema, version 1:
//
//	{"version":1,"source":"source","dest":"dest",
//	 "source_counts":{"users":2},
//	 "fingerprints":{"users":"<sha256 hex>"},
//	 "summary":{"branches":[{"branch":"users","created":0,"updated":1,
//	   "deleted":0,"unchanged":1}],"errors":0},
//	 "actions":[{"kind":"update","name":"update_name","branch":"users",
//	   "id":"11111","attr":"name","value":"Old Name","dest_value":"New Name",
//	   "source":{"idnumber":"11111","name":"Old Name"}}]}
//
// "source" is the source object as a record, so that a later run can hand it
// to the template; the destination object is looked up again in the
// re-imported destination. Model errors carry "error" instead.
type planJSON struct {
	Version      int               `json:"version"`
	Source       string            `json:"source"`
	Dest         string            `json:"dest"`
	SourceCounts map[string]int    `json:"source_counts"`
	Fingerprints map[string]string `json:"fingerprints,omitempty"`
	Summary      Summary           `json:"summary"`
	Actions      []actionJSON      `json:"actions"`
}

type actionJSON struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Branch    string `json:"branch"`
	ID        string `json:"id,omitempty"`
	Attr      string `json:"attr,omitempty"`
	Value     any    `json:"value,omitempty"`
	DestValue any    `json:"dest_value,omitempty"`
	Source    Record `json:"source,omitempty"`
	Error     string `json:"error,omitempty"`
}

// MarshalJSON encodes the plan in the documented, versioned schema.
func (p *Plan) MarshalJSON() ([]byte, error) {
	pj := planJSON{Version: PlanVersion, Source: p.Source, Dest: p.Dest, SourceCounts: p.SourceCounts,
		Fingerprints: p.Fingerprints, Summary: p.Summary, Actions: make([]actionJSON, len(p.Actions))}
	for i, a := range p.Actions {
		aj := actionJSON{Kind: a.Kind.String(), Name: a.Name, Branch: a.Branch, ID: a.ID, Attr: a.Attr,
			Value: a.Value, DestValue: a.DestValue}
		if a.Err != nil {
			aj.Error = a.Err.Error()
		}
		if a.Source != nil {
			aj.Source = objectRecord(a.Source)
		} else if p.sources != nil {
			aj.Source = p.sources[i]
		}
		pj.Actions[i] = aj
	}
	return json.Marshal(pj)
}

// UnmarshalJSON decodes a plan written by MarshalJSON. Values and source
// objects stay in their JSON form until ApplyPlan converts them to the
// trees' types.
func (p *Plan) UnmarshalJSON(data []byte) error {
	var pj planJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&pj); err != nil {
		return fmt.Errorf("dss: plan: %w", err)
	}
	if pj.Version != PlanVersion {
		return fmt.Errorf("dss: plan: version %d, this dss reads version %d", pj.Version, PlanVersion)
	}
	*p = Plan{Source: pj.Source, Dest: pj.Dest, SourceCounts: pj.SourceCounts, Fingerprints: pj.Fingerprints,
		Summary: pj.Summary, Actions: make([]Action, len(pj.Actions)), sources: make([]Record, len(pj.Actions))}
	for i, aj := range pj.Actions {
		k := slices.Index(kindNames[:], aj.Kind)
		if k < 0 {
			return fmt.Errorf("dss: plan: action %d: unknown kind %q", i+1, aj.Kind)
		}
		a := Action{Kind: Kind(k), Name: aj.Name, Branch: aj.Branch, ID: aj.ID, Attr: aj.Attr,
			Value: aj.Value, DestValue: aj.DestValue}
		if aj.Error != "" {
			a.Err = errors.New(aj.Error)
		}
		p.Actions[i] = a
		p.sources[i] = aj.Source
	}
	return nil
}

// objectRecord returns the record of an object: every field by its key.
func objectRecord(obj any) Record {
	rv := reflect.ValueOf(obj)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil
	}
	p, err := planFor(rv.Type().Elem())
	if err != nil {
		return nil
	}
	return p.record(rv.UnsafePointer())
}

func (p *objPlan) record(obj unsafe.Pointer) Record {
	rec := make(Record, len(p.fields))
	for i := range p.fields {
		f := &p.fields[i]
		rec[f.key] = f.value(obj)
	}
	return rec
}
