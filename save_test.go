package dss

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	// Semantics 12: an imported tree written to disk and read back diffs
	// exactly as the imported one does.
	ds, _ := scenario(t)
	src, dst := ds.Source, ds.Dest
	path := filepath.Join(t.TempDir(), "source.jsonl")
	require.NoError(t, src.SaveFile(path))
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	require.Equal(t, `{"dss":"tree","version":1,"tree":"source"}`, lines[0])
	require.Contains(t, lines[1], `"branch":"users"`)
	require.Contains(t, lines[1], `"_lastfirst":"B, A"`)

	back := NewTree[srcTree]("source")
	require.NoError(t, back.LoadFile(path))
	require.Equal(t, messages(src.Diff(dst)), messages(back.Diff(dst)))
	for id, u := range src.Branches.Users.All() {
		v, ok := back.Branches.Users.Get(id)
		require.True(t, ok)
		require.True(t, u.Born.Equal(v.Born))
		v.Born = u.Born
		if diff := cmp.Diff(u, v); diff != "" {
			t.Errorf("user %s (-saved +loaded):\n%s", id, diff)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	header := `{"dss":"tree","version":1,"tree":"source"}` + "\n"
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "empty file"},
		{"other tree", `{"dss":"tree","version":1,"tree":"dest"}`, `:1: the file holds tree "dest"`},
		{"newer version", `{"dss":"tree","version":2,"tree":"source"}`, ":1: not a saved dss tree of version 1"},
		{"bad json", header + "{nope\n", ":2: invalid character"},
		{"unknown branch", header + `{"branch":"rooms","object":{"idnumber":"1"}}`, `:2: no branch "rooms"`},
		{"bad value", header + "\n" + `{"branch":"users","object":{"idnumber":"1","age":"old"}}`, `.jsonl:3: idnumber '1': key "age" value "old": cannot convert to int`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree[srcTree]("source")
			err := tr.LoadFile(write(strings.ReplaceAll(tt.name, " ", "-")+".jsonl", tt.text))
			require.ErrorContains(t, err, tt.want)
			require.True(t, strings.HasPrefix(err.Error(), "dss: "), err.Error())
			require.ErrorIs(t, tr.t.importErr, err, "a failed load marks the tree failed")
		})
	}
	require.ErrorContains(t, NewTree[srcTree]("source").LoadFile(filepath.Join(dir, "missing")), "no such file")
	require.ErrorContains(t, NewTree[srcTree]("source").SaveFile(filepath.Join(dir, "no", "dir")), "dss: save source")
}

// TestSaveFileSyncs: SaveFile syncs the temporary file before it renames it
// over path, and the directory after, so that a saved tree is on disk when
// SaveFile returns; a failed sync of the file leaves path as it was.
func TestSaveFileSyncs(t *testing.T) {
	ds, _ := scenario(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "source.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))

	var synced []string
	fail := false
	defer func(f func(*os.File) error) { fsync = f }(fsync)
	fsync = func(f *os.File) error {
		text, err := os.ReadFile(path)
		require.NoError(t, err)
		fi, err := f.Stat()
		require.NoError(t, err)
		switch {
		case fi.IsDir():
			synced = append(synced, "dir, path new: "+fmt.Sprint(string(text) != "old\n"))
		default:
			synced = append(synced, "file, path new: "+fmt.Sprint(string(text) != "old\n"))
			if fail {
				return errors.New("disk on fire")
			}
		}
		return f.Sync()
	}
	require.NoError(t, ds.Source.SaveFile(path))
	want := []string{"file, path new: false", "dir, path new: true"}
	if runtime.GOOS == "windows" {
		want = want[:1]
	}
	require.Equal(t, want, synced)

	fail, synced = true, nil
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))
	require.EqualError(t, ds.Source.SaveFile(path), "dss: save source to "+path+": disk on fire")
	require.Equal(t, []string{"file, path new: false"}, synced)
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "old\n", string(text), "path is left as it was")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
}
