package dss

import (
	"context"
	"io"
	"strconv"
	"testing"
)

var (
	firstNames = []string{"Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Ken", "Leslie", "Margaret", "Niklaus", "Ole", "Radia", "Shafi", "Tony", "Whitfield"}
	lastNames  = []string{"Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Floyd", "Goldwasser", "Hamilton", "Hopper", "Kahn", "Knuth", "Lamport", "Liskov", "Lovelace", "McCarthy", "Perlman", "Ritchie", "Shannon", "Thompson", "Turing", "Wirth", "Yao", "Zuse"}
)

// benchRecords builds n source user records and their destination twins;
// changed out of every 100 destination users have another first name.
func benchRecords(n, changed int) (src, dst []Record) {
	depts := n/100 + 7
	for i := range n {
		id := strconv.Itoa(100000 + i)
		first, last := firstNames[i%17], lastNames[(i/17)%23]
		dept := "dept-" + strconv.Itoa(i%depts)
		src = append(src, Record{"idnumber": id, "_lastfirst": last + ", " + first, "email": id + "@example.edu", "department": dept})
		if i%100 < changed {
			first += "x"
		}
		dst = append(dst, Record{"idnumber": id, "_first": first, "_last": last, "email": id + "@example.edu", "department": dept})
	}
	return src, dst
}

func yieldAll(recs []Record) Importer {
	return ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		for _, r := range recs {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
}

func benchDatastore(b *testing.B, n, changed int) *Datastore[srcTree, dstTree] {
	srecs, drecs := benchRecords(n, changed)
	ds := New[srcTree, dstTree]()
	ds.Source.Branches.Users.Importer = yieldAll(srecs)
	ds.Source.Branches.Groups.Importer = deptGroups(ds.Source.Branches.Users)
	ds.Dest.Branches.Users.Importer = yieldAll(drecs)
	ds.Dest.Branches.Groups.Importer = deptGroups2(ds.Dest.Branches.Users)
	if err := ds.Import(context.Background()); err != nil {
		b.Fatal(err)
	}
	return ds
}

func benchTrees(b *testing.B, n, changed int) (*Tree[srcTree], *Tree[dstTree]) {
	ds := benchDatastore(b, n, changed)
	return ds.Source, ds.Dest
}

// BenchmarkDecode measures decoding 100,000 user records into a branch,
// Derive included.
func BenchmarkDecode(b *testing.B) { benchDecode(b, false) }

// BenchmarkDecodeUnique is BenchmarkDecode into a Unique branch, which keeps
// no map.
func BenchmarkDecodeUnique(b *testing.B) { benchDecode(b, true) }

func benchDecode(b *testing.B, unique bool) {
	srecs, _ := benchRecords(100_000, 0)
	type users struct{ Users *Branch[string, srcUser] }
	ut := NewTree[users]("source")
	ut.Branches.Users.Importer = yieldAll(srecs)
	ut.Branches.Users.Unique = unique
	b.ReportAllocs()
	for b.Loop() {
		if err := ut.Import(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/object")
}

// BenchmarkDecodeRows is BenchmarkDecodeUnique with the same records given
// as rows of a RowImporter: decoded by column position, without a Record.
func BenchmarkDecodeRows(b *testing.B) {
	srecs, _ := benchRecords(100_000, 0)
	keys := []string{"idnumber", "_lastfirst", "email", "department"}
	rows := make([][]string, len(srecs))
	for i, r := range srecs {
		for _, k := range keys {
			rows[i] = append(rows[i], r[k].(string))
		}
	}
	type users struct{ Users *Branch[string, srcUser] }
	ut := NewTree[users]("source")
	ut.Branches.Users.Importer = RowsFunc(keys, func(ctx context.Context, yield func([]string) error) error {
		for _, r := range rows {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
	ut.Branches.Users.Unique = true
	b.ReportAllocs()
	for b.Loop() {
		if err := ut.Import(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/object")
}

// deptGroups2 derives the destination's groups as the source's are, so that
// only the users differ.
func deptGroups2(users *Branch[string, dstUser]) Importer {
	return ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		for id, u := range users.All() {
			if err := yield(Record{"idnumber": u.Department, "members": id}); err != nil {
				return err
			}
		}
		return nil
	})
}

// benchDiff diffs 100,000 users and their groups, changed% of the users
// renamed: allocations grow with the changes, not with the users.
func benchDiff(b *testing.B, changed int) {
	src, dst := benchTrees(b, 100_000, changed)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = 0
		for range src.Diff(dst) {
			n++
		}
	}
	b.ReportMetric(float64(n), "actions")
}

func BenchmarkDiff0(b *testing.B)  { benchDiff(b, 0) }
func BenchmarkDiff1(b *testing.B)  { benchDiff(b, 1) }
func BenchmarkDiff50(b *testing.B) { benchDiff(b, 50) }

// BenchmarkPlan makes the plan of 100,000 users, 1% renamed: Diff, the
// summary and the guards' verdict.
func BenchmarkPlan(b *testing.B) {
	ds := benchDatastore(b, 100_000, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ds.Plan(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrint writes the plan of 100,000 users, 1% renamed.
func BenchmarkPrint(b *testing.B) {
	p, err := benchDatastore(b, 100_000, 1).Plan()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Print(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

type noopTemplate struct{}

func (noopTemplate) UpdateName(ctx context.Context, a Action) error { return nil }

// BenchmarkApply applies the plan of 100,000 users, 1% renamed, through a
// template that does nothing: the cost of dss's own dispatch.
func BenchmarkApply(b *testing.B) {
	ds := benchDatastore(b, 100_000, 1)
	p, err := ds.Plan()
	if err != nil {
		b.Fatal(err)
	}
	tmpl := Methods(noopTemplate{})
	b.ReportAllocs()
	for b.Loop() {
		p.spent, ds.Dest.t.state = false, stateReady // the same plan, as if new
		r, err := ds.Apply(context.Background(), p, tmpl)
		if err != nil || r.Applied != 1000 {
			b.Fatal(r, err)
		}
	}
}
