package planfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/stretchr/testify/require"
)

type user struct {
	IDNumber string `dss:"idnumber"`
}

type tree struct {
	Users *dss.Branch[string, user]
}

func plan(t *testing.T, n int) *dss.Plan {
	t.Helper()
	ds := dss.New[tree, tree]()
	var recs []dss.Record
	for i := range n {
		recs = append(recs, dss.Record{"idnumber": fmt.Sprintf("%03d", i)})
	}
	ds.Source.Branches.Users.Importer = dss.Records(recs...)
	ds.Dest.Branches.Users.Importer = dss.Records()
	require.NoError(t, ds.Import(context.Background()))
	p, err := ds.Plan()
	require.NoError(t, err)
	return p
}

func TestPrintCutsLongPlans(t *testing.T) {
	var whole, short, all bytes.Buffer
	require.NoError(t, Print(&whole, plan(t, Short), false))
	require.Equal(t, Short, strings.Count(whole.String(), "new_users("))
	long := plan(t, Short+1)
	require.NoError(t, Print(&short, long, false))
	require.Equal(t, Short/2, strings.Count(short.String(), "new_users("))
	require.Contains(t, short.String(), fmt.Sprintf("... and %d more actions", Short+1-Short/2))
	require.Contains(t, short.String(), long.Summary.String())
	require.NoError(t, Print(&all, long, true))
	require.Equal(t, Short+1, strings.Count(all.String(), "new_users("))
}

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	p := plan(t, 3)
	require.NoError(t, Write(path, p))
	got, err := Read(path)
	require.NoError(t, err)
	require.Len(t, got.Actions, 3)
	require.NoError(t, os.WriteFile(path, []byte(`{"actions": [`), 0o600))
	_, err = Read(path)
	require.ErrorContains(t, err, path+": ")
}

// A failed write leaves the older file whole and no temporary file behind.
func TestAtomicKeepsOlderFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "page.html")
	require.NoError(t, os.WriteFile(path, []byte("older"), 0o600))
	boom := errors.New("boom")
	err := Atomic(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	require.ErrorIs(t, err, boom)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "older", string(data))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
}
