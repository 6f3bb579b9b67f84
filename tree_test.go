package dss

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewTreeNamesBranches(t *testing.T) {
	type tr struct {
		Users        *Branch[string, group]
		GroupMembers *Branch[string, group]
		Rooms        *Branch[string, group] `dss:"classrooms"`
		Ignored      int                    `dss:"-"`
	}
	tree := NewTree[tr]("source")
	require.Equal(t, "source", tree.Name())
	var names []string
	for _, b := range tree.t.branches {
		names = append(names, b.Name())
	}
	require.Equal(t, []string{"users", "group_members", "classrooms"}, names)
	require.Equal(t, "classrooms", tree.Branches.Rooms.Name())
}

func TestNewTreePanicsNamingFields(t *testing.T) {
	type noID struct{ Name string }
	type badField struct {
		ID  string `dss:"idnumber"`
		Map map[string]int
	}
	type twoIDs struct {
		A string `dss:"idnumber"`
		B string `dss:"idnumber"`
	}
	type keyMismatch struct {
		ID int `dss:"idnumber"`
	}
	type bad struct {
		Users  *Branch[string, noID]
		Rooms  *Branch[string, badField]
		Twice  *Branch[string, twoIDs]
		Keys   *Branch[string, keyMismatch]
		Plain  string
		Again  *Branch[string, group] `dss:"groups"`
		Groups *Branch[string, group]
	}
	tests := []struct {
		name string
		f    func()
		want []string
	}{
		{"every bad field at once", func() { NewTree[bad]("x") }, []string{
			"field Users: object type dss.noID: no idnumber field",
			"field Rooms: object type dss.badField: field Map: unsupported type map[string]int",
			"fields A and B both have key \"idnumber\"",
			"field Keys: object type dss.keyMismatch: idnumber field ID is int, the branch's key type is string",
			"field Plain: type string is not a *dss.Branch[K, V]",
			"field Groups: a branch named \"groups\" exists already",
		}},
		{"not a struct", func() { NewTree[int]("x") }, []string{"int is not a struct of branches"}},
		{"no branches", func() { NewTree[struct{}]("x") }, []string{"no branches"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				require.NotNil(t, p, "NewTree did not panic")
				msg := p.(string)
				require.True(t, strings.HasPrefix(msg, "dss: NewTree"), msg)
				require.Equal(t, 1, strings.Count(msg, "dss: "), "the context is added once: %s", msg)
				for _, w := range tt.want {
					require.Contains(t, msg, w)
				}
			}()
			tt.f()
		})
	}
}

func TestImportRunsInBranchOrder(t *testing.T) {
	// Semantics 3: groups derive from the users imported before them.
	src := newSource(t,
		Record{"idnumber": "1", "department": "b"},
		Record{"idnumber": "2", "department": "a"},
		Record{"idnumber": "3", "department": "b"},
	)
	g, ok := src.Branches.Groups.Get("b")
	require.True(t, ok)
	require.Equal(t, []string{"1", "3"}, g.Members)
	require.Equal(t, []string{"a", "b"}, collectKeys(src.Branches.Groups))
}

func collectKeys[K string, V any](b *Branch[K, V]) []K {
	var out []K
	for k := range b.Keys() {
		out = append(out, k)
	}
	return out
}

func TestPrivateKeysAndDerive(t *testing.T) {
	// Semantics 4 and 5: "_" keys are decoded, not synced; Derive completes
	// the object from them.
	src := newSource(t, Record{"idnumber": "1", "_lastfirst": "Lovelace, Ada"})
	u, _ := src.Branches.Users.Get("1")
	require.Equal(t, "Lovelace, Ada", u.LastFirst)
	require.Equal(t, "Ada Lovelace", u.Name)
	dst := newDest(t, []Record{{"idnumber": "1", "_first": "Ada", "_last": "Lovelace"}}, nil)
	require.Empty(t, messages(src.Diff(dst)), "private keys differ on both sides but must not be synced")
}

func TestFilterAndPreprocess(t *testing.T) {
	// Semantics 12: an importer can filter records out and preprocess them.
	s := NewTree[srcTree]("source")
	s.Branches.Users.Importer = Records(
		Record{"idnumber": "1", "mail": "A@X"},
		Record{"idnumber": "skip-me", "mail": "b@x"},
		Record{"idnumber": "2", "mail": "C@X"},
	)
	s.Branches.Users.Filter = func(r Record) bool { return !strings.HasPrefix(r["idnumber"].(string), "skip") }
	s.Branches.Users.Preprocess = func(r Record) error {
		r["email"] = strings.ToLower(r["mail"].(string))
		delete(r, "mail")
		return nil
	}
	s.Branches.Groups.Importer = Records()
	require.NoError(t, s.Import(context.Background()))
	require.Equal(t, []string{"1", "2"}, collectKeys(s.Branches.Users))
	u, _ := s.Branches.Users.Get("2")
	require.Equal(t, "c@x", u.Email)

	s.Branches.Users.Preprocess = func(r Record) error { return context.DeadlineExceeded }
	err := s.Import(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.EqualError(t, err, "dss: source.users: record 1: preprocess: context deadline exceeded")
}

func TestReimportReplaces(t *testing.T) {
	s := NewTree[srcTree]("source")
	recs := []Record{{"idnumber": "1", "tags": "a"}}
	s.Branches.Users.Importer = ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		for _, r := range recs {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
	s.Branches.Groups.Importer = Records()
	require.NoError(t, s.Import(context.Background()))
	recs = []Record{{"idnumber": "2", "tags": "b"}}
	require.NoError(t, s.Import(context.Background()))
	require.Equal(t, []string{"2"}, collectKeys(s.Branches.Users))
	u, _ := s.Branches.Users.Get("2")
	require.Equal(t, []string{"b"}, u.Tags, "lists must not accumulate across imports")
}

func TestBranchPutDeleteAll(t *testing.T) {
	tree := NewTree[dstTree]("dest")
	b := tree.Branches.Users
	b.Put(dstUser{ID: "b"}, dstUser{ID: "c"}, dstUser{ID: "a", Name: "first"})
	b.Put(dstUser{ID: "a", Name: "second"})
	b.Delete("c")
	b.Delete("missing")
	require.Equal(t, 2, b.Len())
	var got []string
	for id, u := range b.All() {
		got = append(got, id+"="+u.Name)
	}
	require.Equal(t, []string{"a=second", "b="}, got)
	_, ok := b.Get("c")
	require.False(t, ok)
}

// hinted is an importer whose size hint may be wrong. It counts the times
// it is asked.
type hinted struct {
	Importer
	hint  int
	asked int
}

func (h *hinted) SizeHint() int { h.asked++; return h.hint }

// TestSizeHintOnlySizes: a Unique branch asks its importer's SizeHinter
// once and reserves room for the hint, capped at MaxSizeHint; the hint only
// sizes the branch, so a wrong one (none, below what was read, negative,
// too large) imports the same objects, and never panics. A branch that is
// not Unique does not ask.
func TestSizeHintOnlySizes(t *testing.T) {
	var recs []Record
	for i := range 3000 {
		recs = append(recs, Record{"idnumber": fmt.Sprintf("%05d", 3000-i)})
	}
	const large = 100000 // far beyond what 3000 appends grow to
	for _, tt := range []struct {
		name   string
		unique bool
		hint   int
		asked  int
		sized  bool // the branch has room for the hint
	}{
		{"unknown", true, 0, 1, false},
		{"below what was read", true, 10, 1, false},
		{"negative", true, -5, 1, false},
		{"right", true, 3000, 1, false},
		{"too large", true, large, 1, true},
		{"not unique", false, large, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTree[srcTree]("source")
			h := &hinted{Importer: Records(recs...), hint: tt.hint}
			s.Branches.Users.Importer = h
			s.Branches.Users.Unique = tt.unique
			s.Branches.Groups.Importer = Records()
			require.NoError(t, s.Import(context.Background()))
			require.Equal(t, tt.asked, h.asked, "SizeHint calls")
			require.Equal(t, tt.sized, cap(s.Branches.Users.order) >= large, "cap %d", cap(s.Branches.Users.order))
			require.Equal(t, 3000, s.Branches.Users.Len())
			keys := collectKeys(s.Branches.Users)
			require.Equal(t, "00001", keys[0])
			require.Equal(t, "03000", keys[2999])
			_, ok := s.Branches.Users.Get("01500")
			require.True(t, ok)
		})
	}
}
