package dss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Secret fields: a field tagged `dss:"key,secret"` has its values left out
// of everything dss prints, logs and saves in a plan; a saved plan takes
// them from the imported source when it is applied.

// marker is in every secret value of these tests, and nowhere else.
const marker = "s3cr3t"

type secUser struct {
	ID    string `dss:"idnumber"`
	Name  string `dss:"name"`
	Hash  string `dss:"password_hash,secret"`
	Token string `dss:"_token,secret"` // private and secret: decoded, never synced, never saved in a plan
}

type secTree struct {
	Users *Branch[string, secUser]
}

// plainUser is secUser without the secret tags, for the trees that mark
// the secret on one side only.
type plainUser struct {
	ID   string `dss:"idnumber"`
	Name string `dss:"name"`
	Hash string `dss:"password_hash"`
}

type plainTree struct {
	Users *Branch[string, plainUser]
}

// secDest is a destination that holds users in memory and imports them
// into the destination tree.
type secDest struct {
	mu    sync.Mutex
	users map[string]secUser
	calls []Action // every action the template was given
	fail  bool     // every call fails
}

func (m *secDest) importer() Importer {
	return ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, u := range m.users {
			if err := yield(Record{"idnumber": u.ID, "name": u.Name, "password_hash": u.Hash}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Apply is the template: it records each action and applies it.
func (m *secDest) Apply(ctx context.Context, batch []Action) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range batch {
		m.calls = append(m.calls, a)
		if m.fail {
			return errors.New("the server said no")
		}
		switch a.Kind {
		case KindNew:
			switch u := a.Source.(type) {
			case *secUser:
				m.users[a.ID] = *u
			case *plainUser:
				m.users[a.ID] = secUser{ID: u.ID, Name: u.Name, Hash: u.Hash}
			}
		case KindOld:
			delete(m.users, a.ID)
		case KindUpdate:
			u := m.users[a.ID]
			switch a.Attr {
			case "name":
				u.Name = a.Value.(string)
			case "password_hash":
				u.Hash = a.Value.(string)
			}
			m.users[a.ID] = u
		}
	}
	return nil
}

// secRecords are the source's users: 1 is renamed, 2's hash changes, 3 is
// new, 4 is unchanged; the destination's 5 is deleted.
func secRecords() []Record {
	return []Record{
		{"idnumber": "1", "name": "One Renamed", "password_hash": marker + "-1", "_token": marker + "-t1"},
		{"idnumber": "2", "name": "Two", "password_hash": marker + "-2-new", "_token": marker + "-t2"},
		{"idnumber": "3", "name": "Three", "password_hash": marker + "-3", "_token": marker + "-t3"},
		{"idnumber": "4", "name": "Four", "password_hash": marker + "-4", "_token": marker + "-t4"},
	}
}

func newSecDest() *secDest {
	return &secDest{users: map[string]secUser{
		"1": {ID: "1", Name: "One", Hash: marker + "-1"},
		"2": {ID: "2", Name: "Two", Hash: marker + "-2-old"},
		"4": {ID: "4", Name: "Four", Hash: marker + "-4"},
		"5": {ID: "5", Name: "Five", Hash: marker + "-5"},
	}}
}

// secDatastore returns a datastore from recs to m, logging to log.
func secDatastore(recs []Record, m *secDest, log *bytes.Buffer) *Datastore[secTree, secTree] {
	ds := New[secTree, secTree]()
	ds.Source.Branches.Users.Importer = Records(recs...)
	ds.Dest.Branches.Users.Importer = m.importer()
	if log != nil {
		ds.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return ds
}

// noSecret fails the test if out holds the marker.
func noSecret(t *testing.T, what string, out []byte) {
	t.Helper()
	if i := bytes.Index(out, []byte(marker)); i >= 0 {
		t.Fatalf("%s shows a secret at byte %d:\n%s", what, i, out)
	}
}

func TestSecretTag(t *testing.T) {
	type ok struct {
		ID   string `dss:"idnumber"`
		Hash string `dss:",secret"` // the key is still the Go name's
	}
	p, err := planFor(reflect.TypeFor[ok]())
	require.NoError(t, err)
	f, found := p.field("hash")
	require.True(t, found)
	require.True(t, f.secret)

	for _, tc := range []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"unknown option", reflect.TypeFor[struct {
			ID   string `dss:"idnumber"`
			Hash string `dss:"hash,secrte"`
		}](), `field Hash: unknown tag option "secrte" (dss knows "secret")`},
		{"secret list", reflect.TypeFor[struct {
			ID   string   `dss:"idnumber"`
			Keys []string `dss:"keys,secret"`
		}](), "field Keys: a list cannot be secret"},
		{"secret idnumber", reflect.TypeFor[struct {
			ID string `dss:"idnumber,secret"`
		}](), "field ID: the idnumber cannot be secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildPlan(tc.typ)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestSecretNeverShown: the values of a secret field are in no byte that
// Print, Action.String, the plan's JSON, the report, Apply's errors or the
// slog lines (JSON handler, Debug) write, and the template still gets them.
func TestSecretNeverShown(t *testing.T) {
	ctx := context.Background()
	var log bytes.Buffer
	m := newSecDest()
	m.fail = true
	ds := secDatastore(secRecords(), m, &log)
	require.NoError(t, ds.Import(ctx))
	plan, err := ds.Plan()
	require.NoError(t, err)
	require.Equal(t, []string{
		"new_users(idnumber='3')",
		`update_name(idnumber='1', attr="name", value="One Renamed")`,
		`update_password_hash(idnumber='2', attr="password_hash", value=[redacted])`,
		"old_users(idnumber='5')",
	}, planMessages(plan))

	var printed bytes.Buffer
	require.NoError(t, plan.Print(&printed))
	noSecret(t, "Print", printed.Bytes())
	data, err := json.Marshal(plan)
	require.NoError(t, err)
	noSecret(t, "the plan's JSON", data)
	// The update says it is secret and carries no value.
	upd := docOf(t, data).action(t, "update_password_hash", "2")
	require.Equal(t, true, upd["secret"])
	require.NotContains(t, upd, "value")
	require.NotContains(t, upd, "dest_value")
	for _, a := range plan.Actions {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("action", "a", a)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("action", "a", a)
		fmt.Fprintf(&buf, "%v %+v %s", a, a, a)
		noSecret(t, "an action logged or formatted", buf.Bytes())
	}

	report, err := ds.Apply(ctx, plan, m)
	require.Error(t, err)
	noSecret(t, "Apply's error", []byte(err.Error()))
	noSecret(t, "the report", []byte(report.String()))
	var rl bytes.Buffer
	slog.New(slog.NewJSONHandler(&rl, nil)).Info("applied", "report", report, "err", err)
	noSecret(t, "the report logged", rl.Bytes())
	noSecret(t, "the datastore's log", log.Bytes())
	require.NotEmpty(t, log.Bytes())

	// The template was given the secrets, to write them.
	got := map[string]string{}
	for _, a := range m.calls {
		switch a.Name {
		case "new_users":
			got[a.Name] = a.Source.(*secUser).Hash + " " + a.Source.(*secUser).Token
		case "update_password_hash":
			require.True(t, a.Secret)
			got[a.Name] = a.Value.(string) + " " + a.DestValue.(string)
		}
	}
	require.Equal(t, map[string]string{
		"new_users":            marker + "-3 " + marker + "-t3",
		"update_password_hash": marker + "-2-new " + marker + "-2-old",
	}, got)
}

// TestSecretImportErrors: an import error about a secret key names the key
// and says [redacted] instead of the value, in both the record and the row
// paths and for two records that disagree, and ImportError.Value is nil.
func TestSecretImportErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		imp  Importer
		want string
	}{
		{"not UTF-8", Records(Record{"idnumber": "1", "password_hash": marker + "\xff"}),
			`dss: source.users: record 1: idnumber '1': key "password_hash" value [redacted]: `},
		{"case-folded key", Records(Record{"idnumber": "1", "Password_Hash": marker + "\xff"}),
			`key "Password_Hash" value [redacted]`},
		{"row", RowsFunc([]string{"idnumber", "password_hash"}, func(ctx context.Context, yield func([]string) error) error {
			return yield([]string{"1", marker + "\xff"})
		}), `key "password_hash" value [redacted]`},
		{"two records disagree", Records(
			Record{"idnumber": "1", "password_hash": marker + "-a"},
			Record{"idnumber": "1", "password_hash": marker + "-b"}),
			`key "password_hash" value [redacted]: conflicting values (first record for this idnumber: record 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTree[secTree]("source")
			tr.Branches.Users.Importer = tc.imp
			err := tr.Import(ctx)
			require.ErrorContains(t, err, tc.want)
			noSecret(t, "the import error", []byte(err.Error()))
			var ie *ImportError
			require.ErrorAs(t, err, &ie)
			require.Nil(t, ie.Value)
		})
	}
}

// savedSecretPlan makes the plan of secRecords into newSecDest and returns
// it saved.
func savedSecretPlan(t *testing.T) []byte {
	t.Helper()
	ds := secDatastore(secRecords(), newSecDest(), nil)
	require.NoError(t, ds.Import(context.Background()))
	plan, err := ds.Plan()
	require.NoError(t, err)
	data, err := json.Marshal(plan)
	require.NoError(t, err)
	return data
}

// TestSecretSavedPlanApplies: a saved plan holds no secret; applied after
// the source and destination are imported again, the template gets the
// secrets from the imported source, and the destination converges. Printed,
// the decoded plan still says [redacted].
func TestSecretSavedPlanApplies(t *testing.T) {
	ctx := context.Background()
	data := savedSecretPlan(t)
	noSecret(t, "the saved plan", data)

	var log bytes.Buffer
	m := newSecDest()
	ds := secDatastore(secRecords(), m, &log)
	require.NoError(t, ds.Import(ctx))
	var plan Plan
	require.NoError(t, json.Unmarshal(data, &plan))
	var printed bytes.Buffer
	require.NoError(t, plan.Print(&printed))
	require.Contains(t, printed.String(), `update_password_hash(idnumber='2', attr="password_hash", value=[redacted])`)
	report, err := ds.Apply(ctx, &plan, m)
	require.NoError(t, err)
	require.Equal(t, 4, report.Applied)
	noSecret(t, "the log", log.Bytes())
	require.Equal(t, map[string]secUser{
		"1": {ID: "1", Name: "One Renamed", Hash: marker + "-1"},
		"2": {ID: "2", Name: "Two", Hash: marker + "-2-new"},
		"3": {ID: "3", Name: "Three", Hash: marker + "-3", Token: marker + "-t3"},
		"4": {ID: "4", Name: "Four", Hash: marker + "-4"},
	}, m.users)
	for _, a := range m.calls {
		if a.Kind != KindOld {
			require.Equal(t, marker+"-t"+a.ID, a.Source.(*secUser).Token, "the private secret of %s", a)
		}
	}

	// The next run has nothing to do.
	ds = secDatastore(secRecords(), m, nil)
	require.NoError(t, ds.Import(ctx))
	next, err := ds.Plan()
	require.NoError(t, err)
	require.Empty(t, next.Actions)
}

// TestSecretSavedPlanRefused: a saved plan with secrets is refused, with an
// error that holds no secret and before the template sees an action, when
// the source was not imported, when the source lost an object whose secret
// the plan needs, when the source's new secret is already the destination's,
// and when a hand-edited file holds a secret or drops its "secret" mark.
func TestSecretSavedPlanRefused(t *testing.T) {
	ctx := context.Background()
	data := savedSecretPlan(t)
	edit := func(fn func(doc planDoc)) []byte {
		doc := docOf(t, data)
		fn(doc)
		return doc.json(t)
	}
	for _, tc := range []struct {
		name     string
		data     []byte
		source   []Record // nil: the destination only is imported
		want     string
		wantIs   error
		decodeEr bool // refused when decoded, before the trees
	}{
		{name: "source not imported", data: data,
			want: `action 1 new_users(idnumber='3'): the source object's secret attribute "password_hash" is not in the plan, it is taken from the imported source`, wantIs: ErrNotImported},
		{name: "source lost the object", data: data, source: secRecords()[:2],
			want: `action 1 new_users(idnumber='3'): the source object's secret attribute "password_hash" is not in the plan, and source as imported now has no object with this idnumber`},
		{name: "the destination has the secret already", data: data,
			source: []Record{secRecords()[0], {"idnumber": "2", "name": "Two", "password_hash": marker + "-2-old"}, secRecords()[2], secRecords()[3]},
			want:   `action 3 update_password_hash(idnumber='2', attr="password_hash", value=[redacted]): the destination holds the imported source's secret value already`},
		{name: "a secret in a source object", source: secRecords(), data: edit(func(doc planDoc) {
			doc.action(t, "new_users", "3")["source"].(map[string]any)["password_hash"] = marker + "-evil"
		}), want: `the source object holds secret attribute "password_hash", which a saved plan never holds`},
		{name: "a secret update with a value", source: secRecords(), decodeEr: true, data: edit(func(doc planDoc) {
			doc.action(t, "update_password_hash", "2")["value"] = marker + "-evil"
		}), want: `action 3 update_password_hash(idnumber='2', attr="password_hash", value=[redacted]): a secret action with a value`},
		{name: "the secret mark removed", source: secRecords(), data: edit(func(doc planDoc) {
			a := doc.action(t, "update_password_hash", "2")
			delete(a, "secret")
			a["value"] = marker + "-evil"
		}), want: `action 3 update_password_hash(idnumber='2', attr="password_hash", value=[redacted]): attribute "password_hash" is secret, and the plan does not say so`},
		{name: "a secret mark added", source: secRecords(), data: edit(func(doc planDoc) {
			a := doc.action(t, "update_name", "1")
			a["secret"] = true
			delete(a, "value")
			delete(a, "dest_value")
		}), want: `attribute "name" is not secret, and the plan says it is`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plan Plan
			err := json.Unmarshal(tc.data, &plan)
			if tc.decodeEr {
				require.ErrorContains(t, err, tc.want)
				noSecret(t, "the error", []byte(err.Error()))
				return
			}
			require.NoError(t, err)
			m := newSecDest()
			ds := secDatastore(tc.source, m, nil)
			if tc.source == nil {
				require.NoError(t, ds.ImportDest(ctx))
			} else {
				require.NoError(t, ds.Import(ctx))
			}
			report, err := ds.Apply(ctx, &plan, m)
			require.Nil(t, report)
			require.ErrorContains(t, err, tc.want)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
			noSecret(t, "the error", []byte(err.Error()))
			require.Empty(t, m.calls)
		})
	}
}

// TestSecretFingerprint: a destination's fingerprint leaves its secret
// fields out, so a saved plan holds no hash one could test guesses of a
// secret against; every other field still counts.
func TestSecretFingerprint(t *testing.T) {
	fp := func(u secUser) string {
		m := &secDest{users: map[string]secUser{u.ID: u}}
		ds := secDatastore(nil, m, nil)
		require.NoError(t, ds.Import(context.Background()))
		return fingerprint(ds.Dest.Branches.Users, &ds.Source.t)
	}
	base := fp(secUser{ID: "1", Name: "One", Hash: marker + "-a"})
	require.Equal(t, base, fp(secUser{ID: "1", Name: "One", Hash: marker + "-b"}))
	require.NotEqual(t, base, fp(secUser{ID: "1", Name: "Uno", Hash: marker + "-a"}))
}

// TestSecretSavedTree: a saved tree is the tree's data, secrets included
// (LoadFile must give back the tree that was imported), so SaveFile writes
// it readable by its owner only.
func TestSecretSavedTree(t *testing.T) {
	tr := NewTree[secTree]("source")
	tr.Branches.Users.Importer = Records(secRecords()...)
	require.NoError(t, tr.Import(context.Background()))
	path := filepath.Join(t.TempDir(), "source.jsonl")
	require.NoError(t, tr.SaveFile(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.Contains(string(data), marker+"-2-new"))
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}
	back := NewTree[secTree]("source")
	require.NoError(t, back.LoadFile(path))
	u, ok := back.Branches.Users.Get("2")
	require.True(t, ok)
	require.Equal(t, secUser{ID: "2", Name: "Two", Hash: marker + "-2-new", Token: marker + "-t2"}, *u)
}

// TestSecretMarkedOnOneSide: a field tagged secret in one tree's type
// only, the destination's or the source's, is secret in the plan: redacted
// when printed, left out of the saved plan (its source objects, its
// updates, the destination's fingerprints), and taken from the source when
// the plan is applied.
func TestSecretMarkedOnOneSide(t *testing.T) {
	recs := []Record{
		{"idnumber": "2", "name": "Two", "password_hash": marker + "-2-new"},
		{"idnumber": "3", "name": "Three", "password_hash": marker + "-3"},
	}
	for _, tc := range []struct {
		name string
		ds   func(m *secDest) secretDatastore
	}{
		{"destination", func(m *secDest) secretDatastore {
			ds := New[plainTree, secTree]()
			ds.Source.Branches.Users.Importer, ds.Dest.Branches.Users.Importer = Records(recs...), m.importer()
			return ds
		}},
		{"source", func(m *secDest) secretDatastore {
			ds := New[secTree, plainTree]()
			ds.Source.Branches.Users.Importer, ds.Dest.Branches.Users.Importer = Records(recs...), m.importer()
			return ds
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := &secDest{users: map[string]secUser{"2": {ID: "2", Name: "Two", Hash: marker + "-2-old"}}}
			ds := tc.ds(m)
			require.NoError(t, ds.Import(ctx))
			plan, err := ds.Plan()
			require.NoError(t, err)
			require.Len(t, plan.Actions, 2)
			var printed bytes.Buffer
			require.NoError(t, plan.Print(&printed))
			noSecret(t, "Print", printed.Bytes())
			data, err := json.Marshal(plan)
			require.NoError(t, err)
			noSecret(t, "the saved plan", data)

			// A change of the destination's secret alone is no drift.
			m.users["2"] = secUser{ID: "2", Name: "Two", Hash: marker + "-2-other"}
			ds = tc.ds(m)
			require.NoError(t, ds.Import(ctx))
			var back Plan
			require.NoError(t, json.Unmarshal(data, &back))
			_, err = ds.Apply(ctx, &back, m)
			require.NoError(t, err)
			require.Equal(t, marker+"-2-new", m.users["2"].Hash)
			require.Equal(t, marker+"-3", m.users["3"].Hash)
		})
	}
}

// secretDatastore is a Datastore of any trees.
type secretDatastore interface {
	Import(ctx context.Context) error
	Plan() (*Plan, error)
	Apply(ctx context.Context, p *Plan, tmpl Template, opts ...ApplyOption) (*Report, error)
}
