package dss_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/datastoresync/dss"
	"golang.org/x/time/rate"
)

// Directory is a template for a directory behind an HTTP API: safe for
// concurrent use, and the server's 503 is temporary.
type Directory struct {
	mu      sync.Mutex
	created []string
	busy    bool // the next request is answered 503
}

// Concurrent says that Apply may call the template on several workers.
func (d *Directory) Concurrent() bool { return true }

func (d *Directory) NewUsers(ctx context.Context, a dss.Action) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.busy { // what a template makes of "503 Service Unavailable, Retry-After: 0"
		d.busy = false
		return dss.RetryAfter(errors.New("PUT /users/"+a.ID+": 503 Service Unavailable"), 0)
	}
	d.created = append(d.created, a.ID) // an idempotent PUT: harmless if it is retried
	return nil
}

func ExampleWorkers() {
	ctx := context.Background()
	ds := dss.New[School, School]()
	var users []dss.Record
	for i := range 20 {
		users = append(users, dss.Record{"idnumber": fmt.Sprintf("%02d", i), "name": "User"})
	}
	ds.Source.Branches.Users.Importer = dss.Records(users...)
	ds.Source.Branches.Groups.Importer = dss.Records()
	ds.Dest.Branches.Users.Importer = dss.Records()
	ds.Dest.Branches.Groups.Importer = dss.Records()
	if err := ds.Import(ctx); err != nil {
		panic(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		panic(err)
	}
	dir := &Directory{busy: true}
	report, err := ds.Apply(ctx, plan, dss.Methods(dir),
		dss.Workers(8),                                     // up to 8 requests at once
		dss.RateLimit(rate.NewLimiter(1000, 1)),            // at most 1,000 a second
		dss.Retry(dss.RetryPolicy{Wait: time.Millisecond})) // retry a 503 after 0.5 to 1 ms, then longer
	fmt.Println(report, err)
	slices.Sort(dir.created)
	fmt.Println(len(dir.created), dir.created[0], dir.created[19])
	// Output:
	// 20 of 20 actions applied, 0 failed, 1 retries <nil>
	// 20 00 19
}
