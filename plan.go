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

// Plan is a diff made data: the actions that make the destination equal to
// the source, with a summary and the guards' verdict. Datastore.Plan makes
// one; it prints for review (Print), encodes to JSON (see MarshalJSON) so
// that a later run can apply what was reviewed, and is applied at most once
// by Datastore.Apply.
type Plan struct {
	Source string // the source tree's name
	Dest   string // the destination tree's name
	// SourceCounts is the number of objects in each source branch.
	SourceCounts map[string]int
	Actions      []Action
	// Summary counts the actions per branch.
	Summary Summary

	s, d           *tree  // the trees it was made from; nil for a decoded plan
	srcGen, dstGen uint64 // their imports it was made from
	refusal        error  // the verdict: why Apply refuses it, or nil
	spent          bool   // Apply has called the template with it

	// A decoded plan holds the destination's fingerprints as they were when
	// it was made, and each action's source object as a record, to be
	// decoded into the source tree's types by Apply.
	decoded      bool
	fingerprints map[string]string
	sources      []Record
}

// Refusal returns why Datastore.Apply refuses the plan, or nil: a
// *GuardError when the plan breaks a destination branch's Guard, or a model
// error (wrapping ErrNoAttr, ErrIntegrity or ErrNoBranch) when the two
// trees' object types disagree. The verdict is made with the plan, by the
// code Apply runs, so a dry run that prints it and the real run agree. A
// decoded plan has no verdict until Apply judges it against the destination
// imported then.
func (p *Plan) Refusal() error { return p.refusal }

// judge is the verdict on a plan for the destination d: model errors first,
// then the guards.
func judge(p *Plan, d *tree) error {
	for _, a := range p.Actions {
		if a.Kind == KindError {
			return fmt.Errorf("dss: %s: the trees' object models disagree: %w", a.message(false), a.Err)
		}
	}
	return checkGuards(p, d)
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
	p.s, p.d, p.srcGen, p.dstGen = s, d, s.gen, d.gen
	p.refusal = judge(p, d)
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
	Fingerprints map[string]string `json:"fingerprints"`
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

// MarshalJSON encodes the plan in the documented, versioned schema, with a
// fingerprint of every destination branch as it was imported, so that Apply
// can refuse the plan if the destination drifts. It refuses, as Apply
// would, a plan that is refused, spent or stale: a saved plan is one that
// can still be applied.
func (p *Plan) MarshalJSON() ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("dss: save plan %s to %s: %w", p.Source, p.Dest, err)
	}
	switch {
	case p.refusal != nil:
		return fail(p.refusal)
	case p.spent:
		return fail(ErrSpent)
	}
	fp := p.fingerprints
	if !p.decoded {
		if p.d == nil {
			return fail(errors.New("the plan was not made by Datastore.Plan"))
		}
		p.d.mu.RLock()
		defer p.d.mu.RUnlock()
		if err := p.d.ready(); err != nil {
			return fail(err)
		}
		if p.d.gen != p.dstGen {
			return fail(fmt.Errorf("%w: %s was imported again since it was made", ErrStale, p.d.name))
		}
		fp = p.d.fingerprints()
	}
	pj := planJSON{Version: PlanVersion, Source: p.Source, Dest: p.Dest, SourceCounts: p.SourceCounts,
		Fingerprints: fp, Summary: p.Summary, Actions: make([]actionJSON, len(p.Actions))}
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
// objects stay in their JSON form until Datastore.Apply converts them to the
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
	if pj.Fingerprints == nil {
		return errors.New("dss: plan: no fingerprints")
	}
	*p = Plan{Source: pj.Source, Dest: pj.Dest, SourceCounts: pj.SourceCounts, fingerprints: pj.Fingerprints,
		Summary: pj.Summary, Actions: make([]Action, len(pj.Actions)), decoded: true, sources: make([]Record, len(pj.Actions))}
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
