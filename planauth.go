package dss

// Trusting a saved plan: a tag made with a key the program holds
// (Datastore.PlanKeys), or the plan made again from the trees and compared
// (Datastore.Replan). Fingerprints and bind's checks stop a clumsy edit of a
// plan file; only these stop a careful one.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
)

// MinPlanKeySize is the least number of bytes a PlanKey's Secret may have:
// the size of an HMAC-SHA256 tag, below which a key is easier to guess than
// the tag it makes.
const MinPlanKeySize = 32

// A PlanKey is a secret that authenticates saved plans. A datastore with
// PlanKeys tags every plan it saves with an HMAC-SHA256 of the plan's
// canonical form under its first key, and applies a saved plan only if its
// tag verifies under the key it names. Whoever holds the key can make a
// plan the datastore will apply; whoever does not, cannot change one.
//
// A PlanKey prints as its ID (String, GoString, LogValue): the secret is
// never written, logged or put in an error by dss.
type PlanKey struct {
	// ID names the key in a plan file ("mac": {"key": ID, ...}), so that a
	// datastore can accept plans tagged with an older key while a new one
	// replaces it. It is not secret. Empty means the first 16 hexadecimal
	// digits of the SHA-256 of Secret, which say nothing of a secret of
	// MinPlanKeySize random bytes.
	ID string
	// Secret is the key: at least MinPlanKeySize bytes, random (for
	// example `openssl rand -hex 32`).
	Secret []byte
}

// id returns the key's ID, or the one derived from its secret.
func (k PlanKey) id() string {
	if k.ID != "" {
		return k.ID
	}
	sum := sha256.Sum256(k.Secret)
	return hex.EncodeToString(sum[:8])
}

// String returns "PlanKey(id)", never the secret.
func (k PlanKey) String() string { return "PlanKey(" + strconv.Quote(k.id()) + ")" }

// GoString is String, so that %#v does not print the secret either.
func (k PlanKey) GoString() string { return k.String() }

// LogValue makes log/slog write the key as String does.
func (k PlanKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Errors of saved plans that are not trusted: nothing was applied.
var (
	// ErrUnauthenticated: a datastore with PlanKeys was given a saved plan
	// without a tag, with a tag under a key it does not hold, or with a
	// tag that does not verify (the file was changed after dss wrote it).
	ErrUnauthenticated = errors.New("the plan is not authenticated")
	// ErrPlanKey: a PlanKey is unfit: its secret is shorter than
	// MinPlanKeySize, or two keys have one ID.
	ErrPlanKey = errors.New("invalid plan key")
	// ErrPlanDiffers: Replan made a plan from the trees as imported now that
	// is not the saved plan.
	ErrPlanDiffers = errors.New("the saved plan is not the plan the trees make now")
)

// checkPlanKeys refuses keys that are unfit, naming them by position and ID.
func checkPlanKeys(keys []PlanKey) error {
	seen := map[string]int{}
	for i, k := range keys {
		id := k.id()
		if len(k.Secret) < MinPlanKeySize {
			return fmt.Errorf("dss: PlanKeys[%d] %s: %w: its secret has %d bytes, want at least %d",
				i, k, ErrPlanKey, len(k.Secret), MinPlanKeySize)
		}
		if j, dup := seen[id]; dup {
			return fmt.Errorf("dss: PlanKeys[%d] and PlanKeys[%d]: %w: both have the ID %q", j, i, ErrPlanKey, id)
		}
		seen[id] = i
	}
	return nil
}

// macJSON is a saved plan's tag: the ID of the key and the HMAC-SHA256 of
// the plan's canonical form under it, in hexadecimal.
type macJSON struct {
	Key        string `json:"key"`
	HMACSHA256 string `json:"hmac_sha256"`
}

// canonical is the plan's saved form, tag left out, as bytes that are the
// same for every encoding of one plan: encoding/json's output (keys of maps
// sorted, no space) of the form decoded as a reader decodes it (numbers as
// their text). A plan that MarshalJSON wrote, and the same plan read back,
// indented or not, have one canonical form.
func canonical(pj planJSON) ([]byte, error) {
	pj.MAC = nil
	data, err := json.Marshal(pj)
	if err != nil {
		return nil, err
	}
	var again planJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&again); err != nil {
		return nil, err
	}
	return json.Marshal(again)
}

// mac is the HMAC-SHA256 of a canonical plan under the key: the key's ID is
// in it too, so that a tag made under one ID does not verify under another.
func (k *PlanKey) mac(canon []byte) []byte {
	h := hmac.New(sha256.New, k.Secret)
	h.Write([]byte("dss plan v1\n"))
	h.Write([]byte(k.id()))
	h.Write([]byte{'\n'})
	h.Write(canon)
	return h.Sum(nil)
}

// tag returns the tag of the saved form pj under the key.
func (k *PlanKey) tag(pj planJSON) (*macJSON, error) {
	canon, err := canonical(pj)
	if err != nil {
		return nil, err
	}
	return &macJSON{Key: k.id(), HMACSHA256: hex.EncodeToString(k.mac(canon))}, nil
}

// authenticate refuses a decoded plan whose tag does not verify under the
// key it names among keys. The tag covers the plan as it is now, so actions
// changed after decoding fail too.
func (p *Plan) authenticate(keys []PlanKey) error {
	if p.mac == nil {
		return fmt.Errorf("%w: it has no tag, and this datastore applies only plans tagged with one of its PlanKeys", ErrUnauthenticated)
	}
	i := slices.IndexFunc(keys, func(k PlanKey) bool { return k.id() == p.mac.Key })
	if i < 0 {
		return fmt.Errorf("%w: it is tagged with key %q, which is not one of this datastore's PlanKeys", ErrUnauthenticated, p.mac.Key)
	}
	got, err := hex.DecodeString(p.mac.HMACSHA256)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: its tag is not an HMAC-SHA256 in hexadecimal", ErrUnauthenticated)
	}
	canon, err := canonical(p.savedForm(p.fingerprints))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if !hmac.Equal(got, keys[i].mac(canon)) {
		return fmt.Errorf("%w: its tag does not verify under key %q: the plan was changed after dss wrote it", ErrUnauthenticated, p.mac.Key)
	}
	return nil
}

// Authenticate checks the tag of p, a plan read from a file, as Apply does
// before anything else: nil if it verifies under the key of its ID among
// PlanKeys, else an error wrapping ErrUnauthenticated. A program calls it to
// refuse a forged file at once, in a dry run too, before it imports
// anything. It fails with ErrPlanKey when the datastore has no PlanKeys or
// one is unfit.
func (ds *Datastore[S, D]) Authenticate(p *Plan) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if len(ds.PlanKeys) == 0 {
		return fmt.Errorf("dss: authenticate a plan: %w: the datastore has no PlanKeys", ErrPlanKey)
	}
	return ds.authenticate(p, "authenticate")
}

// authenticate is Authenticate for Apply and Replan, which hold ds.mu; it
// returns nil when the datastore has no PlanKeys. verb names the caller in
// the error.
func (ds *Datastore[S, D]) authenticate(p *Plan, verb string) error {
	if len(ds.PlanKeys) == 0 {
		return nil
	}
	if err := checkPlanKeys(ds.PlanKeys); err != nil {
		return err
	}
	switch {
	case p == nil:
		return fmt.Errorf("dss: %s: the plan is nil", verb)
	case !p.decoded:
		return nil // made here, by Plan
	}
	if err := p.authenticate(ds.PlanKeys); err != nil {
		return fmt.Errorf("dss: %s %s to %s: %w; nothing applied", verb, ds.Source.t.name, ds.Dest.t.name, err)
	}
	return nil
}

// Replan makes the plan of the trees as imported now, as Plan does, and
// returns it only if it is the saved plan: one decoded from a file that a
// reviewer saw. It is for a program that can import the source again when
// it applies a saved plan. The file is then trusted for nothing: what Apply
// is given is the plan the source and the destination make now, and only if
// it is, action by action and value by value, the plan that was reviewed.
//
// Replan refuses, with an error wrapping ErrPlanDiffers (or ErrDrift, for
// the destination), naming the first thing that differs: another pair of
// trees, a destination branch that changed since the saved plan was made
// (its fingerprint), another number of objects in a source branch, or
// another action. With PlanKeys, it first refuses a saved plan whose tag
// does not verify (ErrUnauthenticated). Like Plan, it returns a plan that
// the guards refuse, with its Refusal, for the caller to print.
func (ds *Datastore[S, D]) Replan(saved *Plan) (*Plan, error) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	s, d := &ds.Source.t, &ds.Dest.t
	fail := func(err error) (*Plan, error) {
		return nil, fmt.Errorf("dss: replan %s to %s: %w; nothing applied", s.name, d.name, err)
	}
	if saved == nil || !saved.decoded {
		return fail(errors.New("the saved plan is not one decoded from a file (Plan.UnmarshalJSON)"))
	}
	if err := ds.authenticate(saved, "replan"); err != nil {
		return nil, err
	}
	fresh, err := ds.plan()
	if err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if err := sameAs(saved, fresh, d.fingerprints(s), s.redact || d.redact); err != nil {
		return fail(err)
	}
	return fresh, nil
}

// sameAs says how the saved plan differs from the plan made now, fresh,
// whose destination has the fingerprints fp; nil if they are one plan.
func sameAs(saved, fresh *Plan, fp map[string]string, redact bool) error {
	if saved.Source != fresh.Source || saved.Dest != fresh.Dest {
		return fmt.Errorf("%w: it is for %s to %s", ErrPlanDiffers, saved.Source, saved.Dest)
	}
	for _, name := range slices.Sorted(maps.Keys(fp)) {
		if saved.fingerprints[name] != fp[name] {
			return fmt.Errorf("%w: branch %s changed since the plan was made", ErrDrift, name)
		}
	}
	a, err := canonical(saved.savedForm(saved.fingerprints))
	if err != nil {
		return err
	}
	b, err := canonical(fresh.savedForm(fp))
	if err != nil {
		return err
	}
	if bytes.Equal(a, b) {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(fresh.SourceCounts)) {
		if n, m := saved.SourceCounts[name], fresh.SourceCounts[name]; n != m {
			return fmt.Errorf("%w: the saved plan was made from %d objects in source branch %s, which has %d now", ErrPlanDiffers, n, fmtBare(name), m)
		}
	}
	sa, fa := saved.savedForm(saved.fingerprints).Actions, fresh.savedForm(fp).Actions
	for i := range min(len(sa), len(fa)) {
		x, errX := canonicalAction(sa[i])
		y, errY := canonicalAction(fa[i])
		if err := errors.Join(errX, errY); err != nil {
			return err
		}
		if !bytes.Equal(x, y) {
			return fmt.Errorf("%w: action %d: the saved plan has %s, the trees make %s%s", ErrPlanDiffers, i+1,
				saved.Actions[i].message(redact || saved.Actions[i].Secret), fresh.Actions[i].message(redact || fresh.Actions[i].Secret),
				sameMessage(saved.Actions[i], fresh.Actions[i], redact))
		}
	}
	if len(sa) != len(fa) {
		return fmt.Errorf("%w: the saved plan has %d actions, the trees make %d", ErrPlanDiffers, len(sa), len(fa))
	}
	return fmt.Errorf("%w: the summary or the source counts differ", ErrPlanDiffers)
}

// sameMessage explains two actions that differ although they print alike:
// what they carry that their messages do not show.
func sameMessage(x, y Action, redact bool) string {
	if x.message(redact) != y.message(redact) {
		return ""
	}
	return " (they differ in the destination value or the source object they carry)"
}

// canonicalAction is one action's saved form as canonical bytes.
func canonicalAction(aj actionJSON) ([]byte, error) {
	data, err := json.Marshal(aj)
	if err != nil {
		return nil, err
	}
	var again actionJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&again); err != nil {
		return nil, err
	}
	return json.Marshal(again)
}

// signing returns the key that plans made now are tagged with, or nil. The
// caller has checked the keys.
func signing(keys []PlanKey) *PlanKey {
	if len(keys) == 0 {
		return nil
	}
	k := keys[0]
	k.Secret = bytes.Clone(k.Secret) // the plan keeps its own: the caller's may change
	return &k
}
