package dss

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The careful edit of issue 20, point 0: a reviewed plan renames user 1;
// the file is edited into an update of the user's email to the attacker's,
// with the destination value the current email and the carried source
// object made to agree, so that every check of bind passes. A password
// reset then goes to the attacker.

var (
	authKey    = PlanKey{ID: "2026-12", Secret: []byte("0123456789abcdef0123456789abcdef")}
	authOldKey = PlanKey{ID: "2026-11", Secret: []byte("fedcba9876543210fedcba9876543210")}
)

// authScenario is a destination whose user 1 the source renames.
func authScenario(t *testing.T) (*Datastore[srcTree, dstTree], *memDest) {
	t.Helper()
	return newDatastore(t,
		[]Record{{"idnumber": "1", "_lastfirst": "Lovelace, Ada", "email": "ada@school.example", "department": "math"},
			{"idnumber": "2", "_lastfirst": "Hopper, Grace", "email": "grace@school.example", "department": "math"}},
		[]Record{{"idnumber": "1", "name": "Ada Byron", "email": "ada@school.example", "department": "math"},
			{"idnumber": "2", "name": "Grace Hopper", "email": "grace@school.example", "department": "math"}},
		[]Record{{"idnumber": "math", "members": []string{"1", "2"}}})
}

// forge makes the careful edit of the saved plan data.
func forge(t *testing.T, data []byte) []byte {
	t.Helper()
	doc := docOf(t, data)
	a := doc.action(t, "update_name", "1")
	a["name"], a["attr"] = "update_email", "email"
	a["value"], a["dest_value"] = "attacker@evil.example", "ada@school.example"
	src := a["source"].(map[string]any)
	src["email"], src["name"], src["_lastfirst"] = "attacker@evil.example", "Ada Byron", "Byron, Ada"
	return doc.json(t)
}

// laterRun is the run that applies a saved plan: a datastore of its own,
// with keys, over the same destination.
func laterRun(t *testing.T, m *memDest, keys []PlanKey, importSource bool) *Datastore[srcTree, dstTree] {
	t.Helper()
	ds, _ := authScenario(t) // the same source
	ds.PlanKeys = keys
	m.importers(ds.Dest)
	if importSource {
		require.NoError(t, ds.Import(context.Background()))
	} else {
		require.NoError(t, ds.ImportDest(context.Background()))
	}
	return ds
}

func decodePlan(t *testing.T, data []byte) *Plan {
	t.Helper()
	p := new(Plan)
	require.NoError(t, json.Unmarshal(data, p))
	return p
}

// TestForgedPlan: the careful edit is applied when a plan file is trusted
// (no PlanKeys, no Replan), and refused, applying nothing, with a key or
// with the plan made again.
func TestForgedPlan(t *testing.T) {
	ctx := context.Background()
	t.Run("without a key, the file is trusted", func(t *testing.T) {
		ds, m := authScenario(t)
		data, err := json.Marshal(mustPlan(t, ds))
		require.NoError(t, err)
		require.NotContains(t, string(data), `"mac"`)
		later := laterRun(t, m, nil, false)
		_, err = later.Apply(ctx, decodePlan(t, forge(t, data)), Methods(&fakeTemplate{m}))
		require.NoError(t, err)
		require.Equal(t, "attacker@evil.example", m.users["1"].Email, "this is why a plan file needs a key or Replan")
	})

	t.Run("with a key", func(t *testing.T) {
		ds, m := authScenario(t)
		ds.PlanKeys = []PlanKey{authKey}
		data, err := json.Marshal(mustPlan(t, ds))
		require.NoError(t, err)
		require.Contains(t, string(data), `"mac":{"key":"2026-12","hmac_sha256":"`)
		require.NotContains(t, string(data), string(authKey.Secret))

		later := laterRun(t, m, []PlanKey{authKey}, false)
		r, err := later.Apply(ctx, decodePlan(t, forge(t, data)), Methods(&fakeTemplate{m}))
		require.Nil(t, r)
		require.ErrorIs(t, err, ErrUnauthenticated)
		require.EqualError(t, err, `dss: apply source to dest: the plan is not authenticated: its tag does not verify under key "2026-12": the plan was changed after dss wrote it; nothing applied`)
		require.Empty(t, m.calls)
		require.Equal(t, "ada@school.example", m.users["1"].Email)

		// The plan as dss wrote it, indented as usersync writes it, applies.
		var indented bytes.Buffer
		require.NoError(t, json.Indent(&indented, data, "", "  "))
		_, err = later.Apply(ctx, decodePlan(t, indented.Bytes()), Methods(&fakeTemplate{m}))
		require.NoError(t, err)
		require.Equal(t, "Ada Lovelace", m.users["1"].Name)
		require.Equal(t, "ada@school.example", m.users["1"].Email)
	})

	t.Run("made again", func(t *testing.T) {
		ds, m := authScenario(t)
		data, err := json.Marshal(mustPlan(t, ds))
		require.NoError(t, err)
		later := laterRun(t, m, nil, true)
		p, err := later.Replan(decodePlan(t, forge(t, data)))
		require.Nil(t, p)
		require.ErrorIs(t, err, ErrPlanDiffers)
		require.EqualError(t, err, `dss: replan source to dest: the saved plan is not the plan the trees make now: action 1: the saved plan has update_email(idnumber='1', attr="email", value="attacker@evil.example"), the trees make update_name(idnumber='1', attr="name", value="Ada Lovelace"); nothing applied`)

		p, err = later.Replan(decodePlan(t, data))
		require.NoError(t, err)
		_, err = later.Apply(ctx, p, Methods(&fakeTemplate{m}))
		require.NoError(t, err)
		require.Equal(t, "Ada Lovelace", m.users["1"].Name)
		require.Equal(t, "ada@school.example", m.users["1"].Email)
		require.Equal(t, []string{"update_name:1"}, m.calls)
	})
}

// TestPlanKeys: how a key is given, rotated and refused.
func TestPlanKeys(t *testing.T) {
	ctx := context.Background()
	saved := func(t *testing.T, keys ...PlanKey) ([]byte, *memDest) {
		ds, m := authScenario(t)
		ds.PlanKeys = keys
		data, err := json.Marshal(mustPlan(t, ds))
		require.NoError(t, err)
		return data, m
	}

	t.Run("rotation: a plan tagged with the old key applies while it is kept", func(t *testing.T) {
		data, m := saved(t, authOldKey)
		_, err := laterRun(t, m, []PlanKey{authKey, authOldKey}, false).Apply(ctx, decodePlan(t, data), Methods(&fakeTemplate{m}))
		require.NoError(t, err)
	})
	t.Run("rotation: and is refused once the old key is dropped", func(t *testing.T) {
		data, m := saved(t, authOldKey)
		_, err := laterRun(t, m, []PlanKey{authKey}, false).Apply(ctx, decodePlan(t, data), Methods(&fakeTemplate{m}))
		require.ErrorIs(t, err, ErrUnauthenticated)
		require.ErrorContains(t, err, `it is tagged with key "2026-11", which is not one of this datastore's PlanKeys`)
		require.Empty(t, m.calls)
	})
	t.Run("a plan without a tag is refused when a key is set", func(t *testing.T) {
		data, m := saved(t)
		_, err := laterRun(t, m, []PlanKey{authKey}, false).Apply(ctx, decodePlan(t, data), Methods(&fakeTemplate{m}))
		require.ErrorIs(t, err, ErrUnauthenticated)
		require.ErrorContains(t, err, "it has no tag, and this datastore applies only plans tagged with one of its PlanKeys")
		_, err = laterRun(t, m, []PlanKey{authKey}, true).Replan(decodePlan(t, data))
		require.ErrorIs(t, err, ErrUnauthenticated)
		require.Empty(t, m.calls)
	})
	t.Run("a tag moved to another key's ID", func(t *testing.T) {
		data, m := saved(t, authKey)
		moved := strings.Replace(string(data), `"key":"2026-12"`, `"key":"2026-11"`, 1)
		_, err := laterRun(t, m, []PlanKey{authKey, authOldKey}, false).Apply(ctx, decodePlan(t, []byte(moved)), Methods(&fakeTemplate{m}))
		require.ErrorIs(t, err, ErrUnauthenticated)
	})
	t.Run("another secret under the same ID", func(t *testing.T) {
		data, m := saved(t, authKey)
		other := PlanKey{ID: authKey.ID, Secret: authOldKey.Secret}
		_, err := laterRun(t, m, []PlanKey{other}, false).Apply(ctx, decodePlan(t, data), Methods(&fakeTemplate{m}))
		require.ErrorIs(t, err, ErrUnauthenticated)
	})
	t.Run("actions changed after decoding", func(t *testing.T) {
		data, m := saved(t, authKey)
		p := decodePlan(t, data)
		p.Actions[0].Value = "Eve"
		_, err := laterRun(t, m, []PlanKey{authKey}, false).Apply(ctx, p, Methods(&fakeTemplate{m}))
		require.ErrorIs(t, err, ErrUnauthenticated)
	})
	t.Run("a tag that is not hexadecimal", func(t *testing.T) {
		data, m := saved(t, authKey)
		doc := docOf(t, data)
		doc["mac"].(map[string]any)["hmac_sha256"] = "zz"
		_, err := laterRun(t, m, []PlanKey{authKey}, false).Apply(ctx, decodePlan(t, doc.json(t)), Methods(&fakeTemplate{m}))
		require.ErrorIs(t, err, ErrUnauthenticated)
		require.ErrorContains(t, err, "its tag is not an HMAC-SHA256 in hexadecimal")
	})
	t.Run("an unknown key in the tag is refused as any unknown key", func(t *testing.T) {
		data, _ := saved(t, authKey)
		doc := docOf(t, data)
		doc["mac"].(map[string]any)["alg"] = "none"
		require.ErrorContains(t, json.Unmarshal(doc.json(t), new(Plan)), `"mac": unknown key "alg"`)
	})
	t.Run("an ID derived from the secret", func(t *testing.T) {
		k := PlanKey{Secret: authKey.Secret}
		data, m := saved(t, k)
		require.Regexp(t, `"mac":\{"key":"[0-9a-f]{16}"`, string(data))
		_, err := laterRun(t, m, []PlanKey{k}, false).Apply(ctx, decodePlan(t, data), Methods(&fakeTemplate{m}))
		require.NoError(t, err)
	})
	t.Run("unfit keys", func(t *testing.T) {
		ds, m := authScenario(t)
		ds.PlanKeys = []PlanKey{{ID: "short", Secret: []byte("hunter2")}}
		_, err := ds.Plan()
		require.ErrorIs(t, err, ErrPlanKey)
		require.EqualError(t, err, `dss: PlanKeys[0] PlanKey("short"): invalid plan key: its secret has 7 bytes, want at least 32`)
		ds.PlanKeys = []PlanKey{authKey, {ID: authKey.ID, Secret: authOldKey.Secret}}
		_, err = ds.Plan()
		require.EqualError(t, err, `dss: PlanKeys[0] and PlanKeys[1]: invalid plan key: both have the ID "2026-12"`)
		data, _ := saved(t, authKey)
		_, err = laterRun(t, m, []PlanKey{{Secret: []byte("short")}}, false).Apply(ctx, decodePlan(t, data), Methods(&fakeTemplate{m}))
		require.ErrorIs(t, err, ErrPlanKey)
		require.Empty(t, m.calls)
	})
	t.Run("Authenticate checks the tag before anything is imported", func(t *testing.T) {
		data, _ := saved(t, authKey)
		ds := New[srcTree, dstTree]()
		require.ErrorIs(t, ds.Authenticate(decodePlan(t, data)), ErrPlanKey, "no PlanKeys: nothing to check with")
		ds.PlanKeys = []PlanKey{authKey}
		require.NoError(t, ds.Authenticate(decodePlan(t, data)))
		err := ds.Authenticate(decodePlan(t, forge(t, data)))
		require.ErrorIs(t, err, ErrUnauthenticated)
		require.EqualError(t, err, `dss: authenticate source to dest: the plan is not authenticated: its tag does not verify under key "2026-12": the plan was changed after dss wrote it; nothing applied`)
	})
	t.Run("the secret is never printed", func(t *testing.T) {
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("keys", "key", authKey)
		for _, s := range []string{fmt.Sprint(authKey), fmt.Sprintf("%+v %#v %s %q %x", authKey, authKey, authKey, authKey, authKey), logged.String()} {
			require.NotContains(t, s, string(authKey.Secret))
			require.NotContains(t, s, fmt.Sprintf("%x", authKey.Secret))
		}
		require.Equal(t, `PlanKey("2026-12")`, authKey.String())
	})
}

// TestReplan: a saved plan is applied through Replan only if the trees as
// imported now make exactly it.
func TestReplan(t *testing.T) {
	ds, m := authScenario(t)
	data, err := json.Marshal(mustPlan(t, ds))
	require.NoError(t, err)

	t.Run("the destination changed", func(t *testing.T) {
		later := laterRun(t, m, nil, true)
		m.users["2"] = dstUser{ID: "2", Name: "Grace Hopper", Email: "g@x", Department: "math"}
		defer func() {
			m.users["2"] = dstUser{ID: "2", Name: "Grace Hopper", Email: "grace@school.example", Department: "math"}
		}()
		require.NoError(t, later.Import(context.Background()))
		_, err := later.Replan(decodePlan(t, data))
		require.ErrorIs(t, err, ErrDrift)
		require.EqualError(t, err, "dss: replan source to dest: the destination drifted: branch users changed since the plan was made; nothing applied")
	})
	t.Run("the source changed", func(t *testing.T) {
		later := laterRun(t, m, nil, false)
		later.Source.Branches.Users.Importer = Records(
			Record{"idnumber": "1", "_lastfirst": "Lovelace, Ada", "email": "ada@school.example", "department": "math"})
		require.NoError(t, later.Import(context.Background()))
		_, err := later.Replan(decodePlan(t, data))
		require.ErrorIs(t, err, ErrPlanDiffers)
		require.ErrorContains(t, err, "the saved plan was made from 2 objects in source branch users, which has 1 now")
	})
	t.Run("an action the trees do not make", func(t *testing.T) {
		later := laterRun(t, m, nil, true)
		doc := docOf(t, data)
		doc.action(t, "update_name", "1")["dest_value"] = "Ada King"
		_, err := later.Replan(decodePlan(t, doc.json(t)))
		require.ErrorIs(t, err, ErrPlanDiffers)
		require.ErrorContains(t, err, "(they differ in the destination value or the source object they carry)")
	})
	t.Run("values are redacted", func(t *testing.T) {
		later := laterRun(t, m, nil, true)
		later.Source.RedactValues = true
		require.NoError(t, later.Import(context.Background()))
		_, err := later.Replan(decodePlan(t, forge(t, data)))
		require.ErrorIs(t, err, ErrPlanDiffers)
		require.NotContains(t, err.Error(), "attacker")
		require.NotContains(t, err.Error(), "Lovelace")
	})
	t.Run("not a decoded plan", func(t *testing.T) {
		later := laterRun(t, m, nil, true)
		_, err := later.Replan(mustPlan(t, later))
		require.ErrorContains(t, err, "not one decoded from a file")
	})
	require.Empty(t, m.calls)
}

// FuzzPlanTag: a tagged plan file changed anywhere is refused, unless the
// change leaves the plan what it was (white space, escapes of the same
// text): whatever a tag verifies is the plan dss wrote.
func FuzzPlanTag(f *testing.F) {
	ds, _ := newDatastore(f,
		[]Record{{"idnumber": "1", "_lastfirst": "Lovelace, Ada", "email": "ada@x", "department": "math", "age": 36,
			"active": true, "born": "1815-12-10", "tags": []string{"a<b", "é"}}},
		[]Record{{"idnumber": "1", "name": "Ada Byron", "email": "ada@x", "department": "math", "age": 35, "tags": []string{"c"}}},
		[]Record{{"idnumber": "math", "members": []string{"1"}}})
	ds.PlanKeys = []PlanKey{authKey}
	p := mustPlan(f, ds)
	data, err := json.Marshal(p)
	if err != nil {
		f.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, data, "", "\t"); err != nil {
		f.Fatal(err)
	}
	var want Plan
	if err := json.Unmarshal(data, &want); err != nil {
		f.Fatal(err)
	}
	wantCanon, err := canonical(want.savedForm(want.fingerprints))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, uint16(0), byte(' '))
	f.Add(indented.Bytes(), uint16(100), byte('0'))
	f.Add(data, uint16(bytes.Index(data, []byte("Ada Lovelace"))), byte('E'))
	f.Add(data, uint16(bytes.Index(data, []byte(`"age"`))+8), byte('7'))
	f.Fuzz(func(t *testing.T, file []byte, at uint16, b byte) {
		if len(file) == 0 {
			return
		}
		file = bytes.Clone(file)
		file[int(at)%len(file)] = b
		var got Plan
		if json.Unmarshal(file, &got) != nil {
			return
		}
		if got.authenticate([]PlanKey{authKey}) != nil {
			return
		}
		canon, err := canonical(got.savedForm(got.fingerprints))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(canon, wantCanon) {
			t.Fatalf("a changed plan verifies:\n%s\nwas\n%s", canon, wantCanon)
		}
	})
}

// TestPlanTrustWithSecrets: a plan with secret attributes, which its file
// leaves out, is made again equal by Replan, and its tag verifies; the
// secrets come from the source as imported now.
func TestPlanTrustWithSecrets(t *testing.T) {
	ctx := context.Background()
	data := savedSecretPlan(t)
	m := newSecDest()
	ds := secDatastore(secRecords(), m, nil)
	require.NoError(t, ds.Import(ctx))
	var saved Plan
	require.NoError(t, json.Unmarshal(data, &saved))
	p, err := ds.Replan(&saved)
	require.NoError(t, err)
	_, err = ds.Apply(ctx, p, m)
	require.NoError(t, err)
	require.Equal(t, marker+"-2-new", m.users["2"].Hash)

	m = newSecDest()
	ds = secDatastore(secRecords(), m, nil)
	ds.PlanKeys = []PlanKey{authKey}
	require.NoError(t, ds.Import(ctx))
	plan, err := ds.Plan()
	require.NoError(t, err)
	data, err = json.Marshal(plan)
	require.NoError(t, err)
	noSecret(t, "the tagged plan", data)
	later := secDatastore(secRecords(), m, nil)
	later.PlanKeys = []PlanKey{authKey}
	require.NoError(t, later.Import(ctx))
	saved = Plan{}
	require.NoError(t, json.Unmarshal(data, &saved))
	_, err = later.Apply(ctx, &saved, m)
	require.NoError(t, err)
	require.Equal(t, marker+"-2-new", m.users["2"].Hash)
}
