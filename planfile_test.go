package dss

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The hostile edits of a saved plan (issue 10): whatever is changed in the
// file, a later run refuses it before the template sees one action, and its
// error names the action and what disagrees.

// planDoc is a saved plan as generic JSON, for a test to edit.
type planDoc map[string]any

// docOf decodes a saved plan into a planDoc.
func docOf(t *testing.T, data []byte) planDoc {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc planDoc
	require.NoError(t, dec.Decode(&doc))
	return doc
}

// actions returns the plan's actions, each an object to edit in place.
func (doc planDoc) actions() []map[string]any {
	var out []map[string]any
	for _, a := range doc["actions"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

// action returns the first action named name with idnumber id.
func (doc planDoc) action(t *testing.T, name, id string) map[string]any {
	t.Helper()
	for _, a := range doc.actions() {
		if a["name"] == name && a["id"] == id {
			return a
		}
	}
	t.Fatalf("no action %s:%s", name, id)
	return nil
}

// branchSummary returns the summary of branch name, to edit in place.
func (doc planDoc) branchSummary(t *testing.T, name string) map[string]any {
	t.Helper()
	for _, b := range doc["summary"].(map[string]any)["branches"].([]any) {
		if b := b.(map[string]any); b["branch"] == name {
			return b
		}
	}
	t.Fatalf("no summary of branch %s", name)
	return nil
}

func (doc planDoc) json(t *testing.T) []byte {
	t.Helper()
	data, err := json.Marshal(doc)
	require.NoError(t, err)
	return data
}

// recorder is a template that takes every action it is given, whatever its
// name, and records it: it shows what Apply dispatches, which a Methods
// template would hide by refusing unknown names.
func recorder(m *memDest) Template {
	return TemplateFunc(func(ctx context.Context, batch []Action) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, a := range batch {
			m.calls = append(m.calls, a.Name+":"+a.ID)
		}
		return nil
	})
}

// applySaved is a later run: it decodes data, imports the destination and
// applies the plan. It returns the decode's error or the apply's.
func applySaved(t *testing.T, m *memDest, data []byte, redact bool) error {
	t.Helper()
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	next := New[srcTree, dstTree]()
	next.Dest.RedactValues = redact
	m.importers(next.Dest)
	require.NoError(t, next.ImportDest(context.Background()))
	_, err := next.Apply(context.Background(), &p, recorder(m))
	return err
}

// savedScenario returns the scenario's destination and its plan as JSON:
//
//	1 new_users(idnumber='2')
//	2 new_groups(idnumber='y')
//	3 update_name(idnumber='1', attr="name", value="A B")
//	4 add_tags_to_users(idnumber='1', attr="tags", value="t")
//	5 remove_tags_from_users(idnumber='1', attr="tags", value="u")
//	6 remove_members_from_groups(idnumber='x', attr="members", value="9")
//	7 old_groups(idnumber='old')
//	8 old_users(idnumber='9')
func savedScenario(t *testing.T) (*memDest, []byte) {
	t.Helper()
	ds, m := scenario(t)
	data, err := json.Marshal(mustPlan(t, ds))
	require.NoError(t, err)
	return m, data
}

func TestSavedPlanHostileEdits(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, doc planDoc)
		raw  func(data string) string // an edit of the text, instead
		want string
	}{
		{
			// The exploit: counted as an update by the guards,
			// dispatched to OldUsers by its name.
			name: "kind update named old_users",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "update_name", "1")["name"] = "old_users" },
			want: `action 3 old_users(idnumber='1', attr="name", value=[redacted]): kind update, branch users and attribute "name" make the name update_name, not old_users`,
		},
		{
			name: "old_users on the groups branch",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "old_groups", "old")["name"] = "old_users" },
			want: `action 7 old_users(idnumber='old'): kind old and branch groups make the name old_groups, not old_users`,
		},
		{
			name: "update_email carrying the name",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "update_name", "1")["name"] = "update_email" },
			want: `kind update, branch users and attribute "name" make the name update_name, not update_email`,
		},
		{
			name: "a name no tree has",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "old_users", "9")["name"] = "drop_users" },
			want: `action 8 drop_users(idnumber='9'): kind old and branch users make the name old_users, not drop_users`,
		},
		{
			name: "a hostile name is quoted",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "old_users", "9")["name"] = "old_users\x1b[2K" },
			want: `action 8 "old_users\x1b[2K"(idnumber='9'): kind old and branch users make the name old_users, not "old_users\x1b[2K"`,
		},
		{
			name: "an update of the idnumber",
			edit: func(t *testing.T, doc planDoc) {
				a := doc.action(t, "update_name", "1")
				a["name"], a["attr"], a["value"] = "update_idnumber", "idnumber", "666"
			},
			want: `action 3 update_idnumber(idnumber='1', attr="idnumber", value="666"): branch users has no synced scalar attribute "idnumber"`,
		},
		{
			name: "an update of a list",
			edit: func(t *testing.T, doc planDoc) {
				a := doc.action(t, "add_tags_to_users", "1")
				a["kind"], a["name"], a["dest_value"] = "update", "update_tags", "u"
			},
			want: `action 4 update_tags(idnumber='1', attr="tags", value="t"): branch users has no synced scalar attribute "tags"`,
		},
		{
			name: "new_users prints one idnumber and inserts another",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "new_users", "2")["id"] = "7" },
			want: `action 1 new_users(idnumber='7'): the source object's idnumber is '2'`,
		},
		{
			name: "an update aimed at another object",
			edit: func(t *testing.T, doc planDoc) {
				for _, a := range doc.actions() {
					if a["branch"] == "users" && a["id"] == "1" { // its three actions, so that the summary agrees
						a["id"] = "9"
					}
				}
			},
			want: `action 3 update_name(idnumber='9', attr="name", value="A B"): the source object's idnumber is '1'`,
		},
		{
			name: "a value the source object does not hold",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "update_name", "1")["value"] = "Mallory" },
			want: `action 3 update_name(idnumber='1', attr="name", value="Mallory"): the value is not the source object's, "A B"`,
		},
		{
			name: "a dest_value the destination does not hold",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "update_name", "1")["dest_value"] = "Someone Else" },
			want: `action 3 update_name(idnumber='1', attr="name", value="A B"): dest_value is not the destination's value, "A Old"`,
		},
		{
			name: "an added element the source list does not hold",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "add_tags_to_users", "1")["value"] = "admin" },
			want: `action 4 add_tags_to_users(idnumber='1', attr="tags", value="admin"): the source object's list does not hold the value`,
		},
		{
			name: "a removed element the source list holds",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "remove_members_from_groups", "x")["value"] = "1" },
			want: `action 6 remove_members_from_groups(idnumber='x', attr="members", value="1"): the source object's list holds the value`,
		},
		{
			name: "a removed element the destination list does not hold",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "remove_tags_from_users", "1")["value"] = "v" },
			want: `action 5 remove_tags_from_users(idnumber='1', attr="tags", value="v"): the destination's list does not hold the value`,
		},
		{
			name: "a source object with a key its type lacks",
			edit: func(t *testing.T, doc planDoc) {
				doc.action(t, "new_users", "2")["source"].(map[string]any)["password"] = "x"
			},
			want: `action 1 new_users(idnumber='2'): the source object has key "password", which dss.srcUser does not have`,
		},
		{
			name: "an old action with a source object",
			edit: func(t *testing.T, doc planDoc) {
				doc.action(t, "old_users", "9")["source"] = map[string]any{"idnumber": "9"}
			},
			want: `action 8 old_users(idnumber='9'): old actions carry no source object, and this one does`,
		},
		{
			name: "the summary says less than the actions do",
			edit: func(t *testing.T, doc planDoc) { doc.branchSummary(t, "users")["deleted"] = 0 },
			want: `the summary of branch users says 1 created, 1 updated, 0 deleted, 0 unchanged; the actions and source counts make 1, 1, 1, 0`,
		},
		{
			name: "the summary leaves out a branch",
			edit: func(t *testing.T, doc planDoc) {
				s := doc["summary"].(map[string]any)
				s["branches"] = s["branches"].([]any)[:1]
			},
			want: `source count for branch groups, which the summary does not have`,
		},
		{
			name: "an unknown key in an action",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "update_name", "1")["note"] = "harmless" },
			want: `dss: plan: action 3: unknown key "note"`,
		},
		{
			name: "an unknown key in the plan",
			edit: func(t *testing.T, doc planDoc) { doc["reviewed_by"] = "alice" },
			want: `dss: plan: unknown key "reviewed_by"`,
		},
		{
			name: "a key in another case",
			raw: func(data string) string {
				return strings.Replace(data, `"name":"update_name"`, `"name":"update_name","NAME":"old_users"`, 1)
			},
			want: `dss: plan: action 3: unknown key "NAME"`,
		},
		{
			name: "a repeated key",
			raw: func(data string) string {
				return strings.Replace(data, `"name":"update_name"`, `"name":"update_name","name":"old_users"`, 1)
			},
			want: `dss: plan: action 3: key "name" appears twice`,
		},
		{
			name: "no version",
			edit: func(t *testing.T, doc planDoc) { delete(doc, "version") },
			want: `dss: plan: no version, this dss reads version 1`,
		},
		{
			name: "another version",
			edit: func(t *testing.T, doc planDoc) { doc["version"] = 2 },
			want: `dss: plan: version 2, this dss reads version 1`,
		},
		{
			name: "a model error",
			edit: func(t *testing.T, doc planDoc) { doc.action(t, "old_users", "9")["kind"] = "error" },
			want: `dss: plan: action 8: a model error, which a saved plan never holds`,
		},
		{
			name: "an action twice",
			edit: func(t *testing.T, doc planDoc) {
				as := doc["actions"].([]any)
				doc["actions"] = slices.Insert(as, 3, as[2])
			},
			want: `action 4 update_name(idnumber='1', attr="name", value="A B"): it repeats action 3`,
		},
		{
			name: "a deletion twice, the summary made to agree",
			edit: func(t *testing.T, doc planDoc) {
				doc["actions"] = append(doc["actions"].([]any), doc.action(t, "old_groups", "old"))
				doc.branchSummary(t, "groups")["deleted"] = 2
			},
			want: `action 9 old_groups(idnumber='old'): it repeats action 7`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, data := savedScenario(t)
			if tt.raw != nil {
				edited := tt.raw(string(data))
				require.NotEqual(t, string(data), edited)
				data = []byte(edited)
			} else {
				doc := docOf(t, data)
				tt.edit(t, doc)
				data = doc.json(t)
			}
			err := applySaved(t, m, data, false)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.Empty(t, m.calls, "nothing is applied")
		})
	}
}

// TestSavedPlanRedactsDisagreement: when the trees redact, the error that
// refuses a hand-edited value shows neither the file's value nor the
// source's.
func TestSavedPlanRedactsDisagreement(t *testing.T) {
	m, data := savedScenario(t)
	doc := docOf(t, data)
	doc.action(t, "update_name", "1")["value"] = "Mallory"
	err := applySaved(t, m, doc.json(t), true)
	require.EqualError(t, err, `dss: apply source to dest: action 3 update_name(idnumber='1', attr="name", value=[redacted]): the value is not the source object's, [redacted]; nothing applied`)
	require.Empty(t, m.calls)
}

// TestSavedPlanSourceCounts: the empty-source guard reads the source
// counts, which come from the file. They must be what the actions and the
// destination make, so a plan that deletes a whole branch cannot pass for
// one whose source still had objects.
func TestSavedPlanSourceCounts(t *testing.T) {
	// The source has user 1; the destination has users 1 and 9.
	save := func(t *testing.T) (*memDest, planDoc) {
		ds, m := newDatastore(t,
			[]Record{{"idnumber": "1", "_lastfirst": "B, A"}},
			[]Record{{"idnumber": "1", "_first": "A", "_last": "B"}, {"idnumber": "9", "_first": "Z", "_last": "Z"}},
			nil)
		p := mustPlan(t, ds)
		require.Equal(t, []string{`old_users(idnumber='9')`}, planMessages(p))
		data, err := json.Marshal(p)
		require.NoError(t, err)
		return m, docOf(t, data)
	}
	deleteAll := func(t *testing.T, doc planDoc) {
		doc["actions"] = append(doc["actions"].([]any), map[string]any{"kind": "old", "name": "old_users", "branch": "users", "id": "1"})
		doc.branchSummary(t, "users")["deleted"] = 2
	}

	t.Run("a deletion added, the count kept", func(t *testing.T) {
		m, doc := save(t)
		deleteAll(t, doc)
		err := applySaved(t, m, doc.json(t), false)
		require.ErrorContains(t, err, "the plan's source count of branch users is 1, and its actions make 0: 0 created, and 0 of the destination's 2 not deleted")
		require.Empty(t, m.calls)
	})
	t.Run("a deletion added, the count made to agree", func(t *testing.T) {
		m, doc := save(t)
		deleteAll(t, doc)
		doc["source_counts"].(map[string]any)["users"] = 0
		doc.branchSummary(t, "users")["unchanged"] = 0
		err := applySaved(t, m, doc.json(t), false)
		var ge *GuardError
		require.ErrorAs(t, err, &ge)
		require.Equal(t, "empty source", ge.Rule)
		require.Empty(t, m.calls)
	})
	t.Run("a count left out", func(t *testing.T) {
		m, doc := save(t)
		delete(doc["source_counts"].(map[string]any), "users")
		err := applySaved(t, m, doc.json(t), false)
		require.ErrorContains(t, err, "dss: plan: no source count for branch users")
		require.Empty(t, m.calls)
	})
	t.Run("unedited, it applies", func(t *testing.T) {
		m, doc := save(t)
		require.NoError(t, applySaved(t, m, doc.json(t), false))
		require.Equal(t, []string{"old_users:9"}, m.calls)
	})
}
