package dss

import (
	"context"
	"strconv"
	"testing"
)

var (
	firstNames = []string{"Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Ken", "Leslie", "Margaret", "Niklaus", "Ole", "Radia", "Shafi", "Tony", "Whitfield"}
	lastNames  = []string{"Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Floyd", "Goldwasser", "Hamilton", "Hopper", "Kahn", "Knuth", "Lamport", "Liskov", "Lovelace", "McCarthy", "Perlman", "Ritchie", "Shannon", "Thompson", "Turing", "Wirth", "Yao", "Zuse"}
)

// benchRecords builds n source user records; every change-th one differs
// from destRecords (0: none).
func benchRecords(n int) (src, dst []Record) {
	depts := n/100 + 7
	for i := range n {
		id := strconv.Itoa(100000 + i)
		first, last := firstNames[i%17], lastNames[(i/17)%23]
		dept := "dept-" + strconv.Itoa(i%depts)
		src = append(src, Record{"idnumber": id, "_lastfirst": last + ", " + first, "email": id + "@example.edu", "department": dept})
		if i%50 == 7 {
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

func benchTrees(b *testing.B, n int) (*Tree[srcTree], *Tree[dstTree]) {
	srecs, drecs := benchRecords(n)
	src, dst := NewTree[srcTree]("source"), NewTree[dstTree]("dest")
	src.Branches.Users.Importer = yieldAll(srecs)
	src.Branches.Groups.Importer = deptGroups(src.Branches.Users)
	dst.Branches.Users.Importer = yieldAll(drecs)
	dst.Branches.Groups.Importer = Records()
	for _, t := range []interface{ Import(context.Context) error }{src, dst} {
		if err := t.Import(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	return src, dst
}

// BenchmarkDecode measures decoding 100,000 user records into a branch,
// Derive included.
func BenchmarkDecode(b *testing.B) {
	srecs, _ := benchRecords(100_000)
	type users struct{ Users *Branch[string, srcUser] }
	ut := NewTree[users]("source")
	ut.Branches.Users.Importer = yieldAll(srecs)
	b.ReportAllocs()
	for b.Loop() {
		if err := ut.Import(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/object")
}

// BenchmarkDiff measures diffing 100,000 users and their groups, 2% of the
// users renamed.
func BenchmarkDiff(b *testing.B) {
	src, dst := benchTrees(b, 100_000)
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

// BenchmarkDiffEqual measures diffing 100,000 equal users.
func BenchmarkDiffEqual(b *testing.B) {
	src, _ := benchTrees(b, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		for range src.Diff(src) {
			b.Fatal("equal trees differ")
		}
	}
}
