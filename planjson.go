package dss

// Saved plans: the JSON schema a plan is saved in, the fingerprints of the
// destination it carries, and the checks a plan read back must pass before
// Datastore.Apply binds it to the trees.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// PlanVersion is the version of the plan's JSON schema that this package
// writes and reads.
const PlanVersion = 1

// fingerprints hashes every branch of the destination tree d, whose source
// tree is s.
func (d *tree) fingerprints(s *tree) map[string]string {
	fp := map[string]string{}
	for _, b := range d.branches {
		fp[b.Name()] = fingerprint(b, s)
	}
	return fp
}

// fingerprint is a SHA-256 over a destination branch's objects in idnumber
// order, in a canonical binary form, every field included but those secret
// in its type or in the source's: a plan file holds nothing made from a
// secret, not even a hash one could test guesses against. s is the source
// tree.
func fingerprint(b branch, s *tree) string {
	h := sha256.New()
	p := b.objPlan()
	skip := make([]bool, len(p.fields))
	for fi := range p.fields {
		skip[fi] = p.fields[fi].secret
		if sb, ok := s.byName[b.Name()]; ok {
			if sf, ok := sb.objPlan().field(p.fields[fi].key); ok && sf.secret {
				skip[fi] = true
			}
		}
	}
	var buf []byte
	for obj := range b.objects() {
		buf = buf[:0]
		for fi := range p.fields {
			if skip[fi] {
				continue
			}
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
	case reflect.Pointer: // absent is 0, present is 1 and the value
		if v.IsNil() {
			return append(buf, 0)
		}
		return appendCanonical(append(buf, 1), v.Elem())
	case reflect.Struct: // sql.Null, as a pointer
		if _, ok := sqlNullBase(v.Type()); ok {
			if !v.Field(1).Bool() {
				return append(buf, 0)
			}
			return appendCanonical(append(buf, 1), v.Field(0))
		}
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
// re-imported destination. A plan with model errors is never saved.
//
// A secret attribute (a field tagged `dss:"key,secret"` in the source's or
// the destination's type) is left out: its key is not in "source", and an
// update of it has "secret":true and neither "value" nor "dest_value".
// Applying such a plan takes the secret values from the source as imported
// then (see [Datastore.Apply]).
type planJSON struct {
	Version      *int              `json:"version"`
	Source       string            `json:"source"`
	Dest         string            `json:"dest"`
	SourceCounts map[string]int    `json:"source_counts"`
	Fingerprints map[string]string `json:"fingerprints"`
	Summary      Summary           `json:"summary"`
	Actions      []actionJSON      `json:"actions"`
	// MAC authenticates the rest, when the datastore that made the plan
	// has PlanKeys (see planauth.go).
	MAC *macJSON `json:"mac,omitempty"`
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
	Secret    bool   `json:"secret,omitempty"`
	Error     string `json:"error,omitempty"`
}

// MarshalJSON encodes the plan in the documented, versioned schema, with a
// fingerprint of every destination branch as it was imported, so that Apply
// can refuse the plan if the destination drifts. It refuses, as Apply
// would, a plan that is refused, spent or stale: a saved plan is one that
// can still be applied. When the datastore that made the plan has
// PlanKeys, the plan carries a tag, "mac": {"key": ID, "hmac_sha256": hex},
// an HMAC-SHA256 of its canonical form under PlanKeys[0]; a decoded plan is
// written with the tag it was read with.
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
		fp = p.d.fingerprints(p.s)
	}
	pj := p.savedForm(fp)
	switch {
	case p.key != nil:
		mac, err := p.key.tag(pj)
		if err != nil {
			return fail(err)
		}
		pj.MAC = mac
	case p.decoded:
		pj.MAC = p.mac // as it was read: it verifies if nothing was changed
	}
	return json.Marshal(pj)
}

// savedForm is the plan as MarshalJSON writes it, without a tag, with the
// destination's fingerprints fp.
func (p *Plan) savedForm(fp map[string]string) planJSON {
	version := PlanVersion
	pj := planJSON{Version: &version, Source: p.Source, Dest: p.Dest, SourceCounts: p.SourceCounts,
		Fingerprints: fp, Summary: p.Summary, Actions: make([]actionJSON, len(p.Actions))}
	for i, a := range p.Actions {
		aj := actionJSON{Kind: a.Kind.String(), Name: a.Name, Branch: a.Branch, ID: a.ID, Attr: a.Attr,
			Value: plainValue(a.Value), DestValue: plainValue(a.DestValue)}
		if a.Err != nil {
			aj.Error = a.Err.Error()
		}
		var pp *pairPlan
		if !p.decoded {
			pp = p.pairOf(a)
		}
		if a.Secret || pp != nil && a.Kind == KindUpdate && pp.secretKey(a.Attr) {
			aj.Value, aj.DestValue, aj.Secret = nil, nil, true
		}
		if a.Source != nil {
			aj.Source = objectRecord(a.Source, pp)
		} else if p.sources != nil {
			aj.Source = p.sources[i]
		}
		pj.Actions[i] = aj
	}
	return pj
}

// UnmarshalJSON decodes a plan written by MarshalJSON. Values and source
// objects stay in their JSON form until Datastore.Apply converts them to
// the trees' types and checks them against the trees.
//
// A plan file is data that dss wrote, and it is refused when it is anything
// else: a version other than PlanVersion or none, a key the schema does not
// have (keys match exactly, not regardless of case) or a key repeated in
// one object, a model error, an action whose name is not the one its kind,
// branch and attribute make (update_<attr>, old_<branch>, ...), a missing
// or misplaced source object, or a summary that the actions and the source
// counts do not make. The summary is computed from the actions, never taken
// from the file.
func (p *Plan) UnmarshalJSON(data []byte) error {
	if err := checkKeys(json.NewDecoder(bytes.NewReader(data)), planShape, ""); err != nil {
		return fmt.Errorf("dss: plan: %w", err)
	}
	var pj planJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pj); err != nil {
		return fmt.Errorf("dss: plan: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("dss: plan: data after the plan")
	}
	switch {
	case pj.Version == nil:
		return fmt.Errorf("dss: plan: no version, this dss reads version %d", PlanVersion)
	case *pj.Version != PlanVersion:
		return fmt.Errorf("dss: plan: version %d, this dss reads version %d", *pj.Version, PlanVersion)
	case pj.Fingerprints == nil:
		return errors.New("dss: plan: no fingerprints")
	}
	actions, sources := make([]Action, len(pj.Actions)), make([]Record, len(pj.Actions))
	for i, aj := range pj.Actions {
		k := slices.Index(kindNames[:], aj.Kind)
		if k < 0 {
			return fmt.Errorf("dss: plan: action %d: unknown kind %q", i+1, aj.Kind)
		}
		a := Action{Kind: Kind(k), Name: aj.Name, Branch: aj.Branch, ID: aj.ID, Attr: aj.Attr,
			Value: aj.Value, DestValue: aj.DestValue, Secret: aj.Secret}
		if a.Kind == KindError || aj.Error != "" {
			return fmt.Errorf("dss: plan: action %d: a model error, which a saved plan never holds", i+1)
		}
		if a.Secret && (a.Value != nil || a.DestValue != nil) {
			// Left out of the error: a hand-edited file may hold the secret.
			return fmt.Errorf("dss: plan: action %d %s: a secret action with a value, which a saved plan never holds", i+1, a.message(true))
		}
		// The values are not known to be safe to show yet: they are
		// redacted, as a tree that redacts would have them.
		if err := checkShape(a, aj.Source != nil); err != nil {
			return fmt.Errorf("dss: plan: action %d %s: %w", i+1, a.message(true), err)
		}
		actions[i], sources[i] = a, aj.Source
	}
	var order []string
	for _, bs := range pj.Summary.Branches {
		order = append(order, bs.Branch)
	}
	sum, err := recount(order, pj.SourceCounts, actions)
	if err != nil {
		return fmt.Errorf("dss: plan: %w", err)
	}
	if err := sameSummary(pj.Summary, sum); err != nil {
		return fmt.Errorf("dss: plan: %w", err)
	}
	*p = Plan{Source: pj.Source, Dest: pj.Dest, SourceCounts: pj.SourceCounts, fingerprints: pj.Fingerprints,
		Summary: sum, Actions: actions, decoded: true, sources: sources, mac: pj.MAC}
	return nil
}

// checkShape checks what an action of a saved plan must be whatever the
// trees: one of the kinds a saved plan holds, with an idnumber, named as its
// kind, branch and attribute name it (so that the template method it goes
// to is the one its kind is counted as by the guards), and with a source
// object exactly when its kind has one.
func checkShape(a Action, hasSource bool) error {
	if a.Branch == "" {
		return errors.New("no branch")
	}
	if a.ID == "" {
		return errors.New("no idnumber")
	}
	var want string
	switch a.Kind {
	case KindNew, KindOld:
		if a.Attr != "" || a.Value != nil || a.DestValue != nil {
			return fmt.Errorf("%s actions have no attribute or value", a.Kind)
		}
		want = newName(a.Branch)
		if a.Kind == KindOld {
			want = oldName(a.Branch)
		}
	case KindUpdate, KindAdd, KindRemove:
		if a.Attr == "" {
			return fmt.Errorf("%s actions need an attribute", a.Kind)
		}
		if a.Kind != KindUpdate && a.DestValue != nil {
			return fmt.Errorf("%s actions have no destination value", a.Kind)
		}
		n := namesFor(a.Branch, a.Attr)
		want = n.update
		if a.Kind == KindAdd {
			want = n.add
		} else if a.Kind == KindRemove {
			want = n.remove
		}
	default:
		return fmt.Errorf("kind %s cannot be applied", a.Kind)
	}
	if a.Secret && a.Kind != KindUpdate {
		return fmt.Errorf("%s actions are never secret, and this one is", a.Kind)
	}
	if a.Name != want {
		if a.Attr == "" {
			return fmt.Errorf("kind %s and branch %s make the name %s, not %s", a.Kind, fmtBare(a.Branch), fmtName(want), fmtName(a.Name))
		}
		return fmt.Errorf("kind %s, branch %s and attribute %q make the name %s, not %s",
			a.Kind, fmtBare(a.Branch), a.Attr, fmtName(want), fmtName(a.Name))
	}
	switch {
	case a.Kind == KindOld && hasSource:
		return errors.New("old actions carry no source object, and this one does")
	case a.Kind != KindOld && !hasSource:
		return fmt.Errorf("%s actions carry their source object, and this one does not", a.Kind)
	}
	return nil
}

// recount is summarize for a plan without its trees: the branches in the
// source's order, the number of objects in each source branch, and the
// actions.
func recount(branches []string, counts map[string]int, actions []Action) (Summary, error) {
	sum := Summary{Branches: make([]BranchSummary, len(branches))}
	at := map[string]int{}
	for i, b := range branches {
		if _, dup := at[b]; dup {
			return sum, fmt.Errorf("branch %s is in the summary twice", fmtBare(b))
		}
		n, ok := counts[b]
		switch {
		case !ok:
			return sum, fmt.Errorf("no source count for branch %s", fmtBare(b))
		case n < 0:
			return sum, fmt.Errorf("source count %d for branch %s", n, fmtBare(b))
		}
		at[b] = i
		sum.Branches[i].Branch = b
	}
	if len(counts) != len(branches) {
		for _, b := range slices.Sorted(maps.Keys(counts)) {
			if _, ok := at[b]; !ok {
				return sum, fmt.Errorf("source count for branch %s, which the summary does not have", fmtBare(b))
			}
		}
	}
	var last lastObject
	for i, a := range actions {
		if !sum.count(at, a, &last) {
			return sum, fmt.Errorf("action %d: branch %s is not one of the plan's branches", i+1, fmtBare(a.Branch))
		}
	}
	for i := range sum.Branches {
		bs := &sum.Branches[i]
		if bs.Unchanged = counts[bs.Branch] - bs.Created - bs.Updated; bs.Unchanged < 0 {
			return sum, fmt.Errorf("branch %s: the source has %d objects, and the plan creates %d and updates %d",
				fmtBare(bs.Branch), counts[bs.Branch], bs.Created, bs.Updated)
		}
	}
	return sum, nil
}

// sameSummary says how the summary a file holds differs from the one its
// actions make, or nil.
func sameSummary(file, actions Summary) error {
	if len(file.Branches) != len(actions.Branches) {
		return fmt.Errorf("the summary has %d branches, the plan %d", len(file.Branches), len(actions.Branches))
	}
	for i, f := range file.Branches {
		if a := actions.Branches[i]; f != a {
			return fmt.Errorf("the summary of branch %s says %d created, %d updated, %d deleted, %d unchanged; the actions and source counts make %d, %d, %d, %d",
				fmtBare(f.Branch), f.Created, f.Updated, f.Deleted, f.Unchanged, a.Created, a.Updated, a.Deleted, a.Unchanged)
		}
	}
	if file.Errors != actions.Errors {
		return fmt.Errorf("the summary counts %d model errors, the actions %d", file.Errors, actions.Errors)
	}
	return nil
}

// jsonShape is where in the plan's JSON keys are those of a Go struct: the
// keys an object may have, and the shape of each key's value, or of an
// array's elements. A nil shape is a map or any value.
type jsonShape struct {
	keys map[string]*jsonShape
	elem *jsonShape
}

// planShape is planJSON's shape, made from its json tags.
var planShape = shapeOf(reflect.TypeFor[planJSON]())

func shapeOf(t reflect.Type) *jsonShape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &jsonShape{keys: map[string]*jsonShape{}}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			s.keys[name] = shapeOf(f.Type)
		}
		return s
	case reflect.Slice:
		return &jsonShape{elem: shapeOf(t.Elem())}
	}
	return nil
}

// at prefixes a message with where, the place in the plan's JSON, if any.
func at(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

// checkKeys reads one JSON value from dec and refuses a key repeated in any
// of its objects, and, where the shape is a struct's, a key the struct does
// not have exactly. encoding/json lets the last of two keys win and matches
// keys regardless of case, so either would let a plan do what a reader of
// the file does not see. where names the value in errors; "" is the plan.
func checkKeys(dec *json.Decoder, s *jsonShape, where string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			if seen[key] {
				return fmt.Errorf("%skey %q appears twice", at(where), key)
			}
			seen[key] = true
			var sub *jsonShape
			if s != nil && s.keys != nil {
				var ok bool
				if sub, ok = s.keys[key]; !ok {
					return fmt.Errorf("%sunknown key %q", at(where), key)
				}
			}
			if err := checkKeys(dec, sub, at(where)+strconv.Quote(key)); err != nil {
				return err
			}
		}
	case json.Delim('['):
		var sub *jsonShape
		if s != nil {
			sub = s.elem
		}
		for i := 0; dec.More(); i++ {
			inner := fmt.Sprintf("%s[%d]", where, i)
			if where == `"actions"` {
				inner = fmt.Sprintf("action %d", i+1)
			}
			if err := checkKeys(dec, sub, inner); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// objectRecord returns the record of a source object as a plan file holds
// it: every field by its key, but those secret in its type or, when pp is
// the pair plan of its branch, in the destination's.
func objectRecord(obj any, pp *pairPlan) Record {
	rv := reflect.ValueOf(obj)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil
	}
	p, err := planFor(rv.Type().Elem())
	if err != nil {
		return nil
	}
	rec := p.record(rv.UnsafePointer())
	for _, i := range p.secret {
		delete(rec, p.fields[i].key)
	}
	if pp != nil && pp.src == p {
		for _, i := range pp.secret {
			delete(rec, p.fields[i].key)
		}
	}
	return rec
}

// pairOf returns the pair plan of the branch of action a in the trees the
// plan was made from, or nil.
func (p *Plan) pairOf(a Action) *pairPlan {
	if p.s == nil || p.d == nil {
		return nil
	}
	sb, ok := p.s.byName[a.Branch]
	db, ok2 := p.d.byName[a.Branch]
	if !ok || !ok2 {
		return nil
	}
	return pairFor(sb.objPlan(), db.objPlan())
}

// secretKey reports whether the attribute key is secret in either type.
func (pp *pairPlan) secretKey(key string) bool {
	for _, i := range pp.secret {
		if pp.src.fields[i].key == key {
			return true
		}
	}
	return false
}

func (p *objPlan) record(obj unsafe.Pointer) Record {
	rec := make(Record, len(p.fields))
	for i := range p.fields {
		f := &p.fields[i]
		if f.null == nullSQL {
			rec[f.key] = plainValue(f.value(obj))
		} else {
			rec[f.key] = f.value(obj)
		}
	}
	return rec
}

// sameModels refuses to bind a saved plan to trees whose object models
// disagree, as judge refuses a plan with model errors.
func sameModels(s, d *tree) error {
	for _, sb := range s.branches {
		db, ok := d.byName[sb.Name()]
		if !ok {
			return fmt.Errorf("the trees' object models disagree: branch %s: %w: tree %s has it, tree %s does not",
				fmtBare(sb.Name()), ErrNoBranch, s.name, d.name)
		}
		if pp := pairFor(sb.objPlan(), db.objPlan()); len(pp.problems) > 0 {
			a := pp.problems[0]
			return fmt.Errorf("the trees' object models disagree: branch %s, attribute %q: %w", fmtBare(sb.Name()), a.Attr, a.Err)
		}
	}
	for _, db := range d.branches {
		if _, ok := s.byName[db.Name()]; !ok {
			return fmt.Errorf("the trees' object models disagree: branch %s: %w: tree %s has it, tree %s does not",
				fmtBare(db.Name()), ErrNoBranch, d.name, s.name)
		}
	}
	return nil
}

// exactKeys refuses a saved source object whose keys are not exactly those
// of its type: an extra key would be ignored, a missing field left zero. The
// secret fields (the indexes in secret) are the exception: the object must
// not hold them.
func exactKeys(p *objPlan, rec Record, secret []int) error {
	for _, k := range slices.Sorted(maps.Keys(rec)) {
		i, ok := p.byKey[k]
		if !ok {
			return fmt.Errorf("the source object has key %q, which %v does not have", k, p.typ)
		}
		if slices.Contains(secret, i) {
			return fmt.Errorf("the source object holds secret attribute %q, which a saved plan never holds", k)
		}
	}
	for i := range p.fields {
		if _, ok := rec[p.fields[i].key]; !ok && !slices.Contains(secret, i) {
			return fmt.Errorf("the source object has no key %q", p.fields[i].key)
		}
	}
	return nil
}

// listHolds reports whether the list field f of the object at obj holds v.
func listHolds(f *field, obj unsafe.Pointer, v reflect.Value) bool {
	list := reflect.NewAt(f.typ, f.ptr(obj)).Elem()
	for i := range list.Len() {
		if list.Index(i).Equal(v) {
			return true
		}
	}
	return false
}
