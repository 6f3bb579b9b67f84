package dss_test

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/datastoresync/dss"
)

// Staff is a tree of users alone.
type Staff struct {
	Users *dss.Branch[string, User]
}

// Clipped is a destination that keeps at most 8 characters of a name, as a
// VARCHAR(8) column of a lenient database would: every run would rename
// the same user again.
type Clipped struct{ names map[string]string }

func (c *Clipped) clip(s string) string { return s[:min(len(s), 8)] }

func (c *Clipped) NewUsers(ctx context.Context, a dss.Action) error {
	c.names[a.ID] = c.clip(a.Source.(*User).Name)
	return nil
}

func (c *Clipped) UpdateName(ctx context.Context, a dss.Action) error {
	c.names[a.ID] = c.clip(a.Value.(string))
	return nil
}

// ImportKeys makes the importer a dss.KeysImporter: Verify reads back
// only the people the plan touched.
func (c *Clipped) ImportKeys(ctx context.Context, ids []string, yield func(dss.Record) error) error {
	for _, id := range ids {
		if name, ok := c.names[id]; ok {
			if err := yield(dss.Record{"idnumber": id, "name": name}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Clipped) Import(ctx context.Context, yield func(dss.Record) error) error {
	ids := make([]string, 0, len(c.names))
	for id := range c.names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return c.ImportKeys(ctx, ids, yield)
}

func ExampleDatastore_Verify() {
	ctx := context.Background()
	dest := &Clipped{names: map[string]string{"1": "Ada Love"}}
	ds := dss.New[Staff, Staff]()
	ds.Source.Branches.Users.Importer = dss.Records(
		dss.Record{"idnumber": "1", "name": "Ada Lovelace"},
		dss.Record{"idnumber": "2", "name": "Grace Hopper"},
	)
	ds.Dest.Branches.Users.Importer = dest
	if err := ds.Import(ctx); err != nil {
		panic(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		panic(err)
	}
	report, err := ds.Apply(ctx, plan, dss.Methods(dest))
	if err != nil {
		panic(err)
	}
	// Before the commit: does the destination hold what was written?
	err = ds.Verify(ctx, report)
	fmt.Println(errors.Is(err, dss.ErrNotKept))
	fmt.Println(err)
	// Output:
	// true
	// dss: verify dest: the destination did not keep what was applied: after 2 actions were applied, 2 differences are left, the first: update_name(idnumber='2', attr="name", value="Grace Hopper") (the destination holds "Grace Ho")
}
