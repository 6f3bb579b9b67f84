package dss_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/datastoresync/dss"
)

type course struct {
	IDNumber string `dss:"idnumber"`
	Name     string `dss:"name"`
	Credits  int    `dss:"credits"`
}

type catalog struct {
	Courses *dss.Branch[string, course]
}

// posRecord is a record and the position an importer yields it with.
type posRecord struct {
	rec dss.Record
	pos dss.Pos
}

// yieldAll is a PositionedImporter's function that yields recs.
func yieldAll(recs ...posRecord) func(context.Context, func(dss.Record, dss.Pos) error) error {
	return func(ctx context.Context, yield func(dss.Record, dss.Pos) error) error {
		for _, r := range recs {
			if err := yield(r.rec, r.pos); err != nil {
				return err
			}
		}
		return nil
	}
}

func importCatalog(im dss.Importer) error {
	tree := dss.NewTree[catalog]("source")
	tree.Branches.Courses.Importer = im
	return tree.Import(context.Background())
}

func TestPositionedImporter(t *testing.T) {
	at := func(line int) dss.Pos { return dss.Pos{Source: "courses.jsonl", Line: line} }
	good1 := dss.Record{"idnumber": "c1", "name": "Algebra", "credits": "5"}
	good2 := dss.Record{"idnumber": "c2", "name": "Biology", "credits": "4"}
	bad := dss.Record{"idnumber": "c3", "name": "Chemistry", "credits": "many"}

	t.Run("a bad value names the source and line it was yielded with", func(t *testing.T) {
		err := importCatalog(dss.PositionedImporter(yieldAll(
			posRecord{good1, at(1)}, posRecord{good2, at(2)}, posRecord{bad, at(3)})))
		var ie *dss.ImportError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, at(3), ie.Pos)
		assert.ErrorIs(t, err, dss.ErrConvert)
		assert.EqualError(t, err, `dss: source.courses: courses.jsonl:3: idnumber 'c3': key "credits" value "many": cannot convert to int: invalid syntax`)
	})

	t.Run("an ImporterFunc's record is named by its ordinal", func(t *testing.T) {
		err := importCatalog(dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
			return yieldAll(posRecord{good1, at(1)}, posRecord{good2, at(2)}, posRecord{bad, at(3)})(ctx,
				func(r dss.Record, _ dss.Pos) error { return yield(r) })
		}))
		assert.ErrorContains(t, err, `dss: source.courses: record 3: idnumber 'c3'`)
	})

	t.Run("a conflict names the earlier record's position too", func(t *testing.T) {
		again := dss.Record{"idnumber": "c1", "name": "Geometry"}
		err := importCatalog(dss.PositionedImporter(yieldAll(
			posRecord{good1, at(1)}, posRecord{good2, at(4)}, posRecord{again, at(9)})))
		assert.ErrorIs(t, err, dss.ErrConflict)
		assert.EqualError(t, err, `dss: source.courses: courses.jsonl:9: idnumber 'c1': key "name" value "Geometry": conflicting values: "Geometry", earlier "Algebra" (first record for this idnumber: courses.jsonl:1)`)
	})

	t.Run("a zero Pos names the record's ordinal", func(t *testing.T) {
		err := importCatalog(dss.PositionedImporter(yieldAll(
			posRecord{good1, at(1)}, posRecord{good2, dss.Pos{}}, posRecord{bad, dss.Pos{}})))
		assert.ErrorContains(t, err, `dss: source.courses: record 3: idnumber 'c3'`)
	})

	t.Run("the importer's own error is returned", func(t *testing.T) {
		err := importCatalog(dss.PositionedImporter(func(ctx context.Context, yield func(dss.Record, dss.Pos) error) error {
			return fmt.Errorf("courses.jsonl: permission denied")
		}))
		assert.EqualError(t, err, "dss: source.courses: courses.jsonl: permission denied")
	})
}

type sourceKey struct{}

// TestPositionedImporterShared: one importer, two trees importing at once,
// each with its own source (from the context): every error names the
// source of its own tree. Run with -race.
func TestPositionedImporterShared(t *testing.T) {
	const n = 2000
	im := dss.PositionedImporter(func(ctx context.Context, yield func(dss.Record, dss.Pos) error) error {
		src := ctx.Value(sourceKey{}).(string)
		for i := 1; i <= n; i++ {
			credits := "1"
			if i == n {
				credits = "bad " + src
			}
			rec := dss.Record{"idnumber": fmt.Sprint(i), "credits": credits}
			if err := yield(rec, dss.Pos{Source: src, Line: i}); err != nil {
				return err
			}
		}
		return nil
	})
	for range 10 {
		var wg sync.WaitGroup
		for _, src := range []string{"a.jsonl", "b.jsonl"} {
			wg.Go(func() {
				tree := dss.NewTree[catalog]("source")
				tree.Branches.Courses.Importer = im
				err := tree.Import(context.WithValue(context.Background(), sourceKey{}, src))
				var ie *dss.ImportError
				if assert.ErrorAs(t, err, &ie) {
					assert.Equal(t, dss.Pos{Source: src, Line: n}, ie.Pos)
					assert.Equal(t, "bad "+src, ie.Value)
				}
			})
		}
		wg.Wait()
	}
}

// A hand-written importer that knows where its records come from yields each
// with its position, so that a bad value is reported at its line.
func ExamplePositionedImporter() {
	// In a program: f, err := os.Open("courses.txt")
	const coursesTxt = "c1 Algebra 5\nc2 Biology 4\n\nc3 Chemistry many\n"

	source := dss.NewTree[catalog]("source")
	source.Branches.Courses.Importer = dss.PositionedImporter(func(ctx context.Context, yield func(dss.Record, dss.Pos) error) error {
		sc := bufio.NewScanner(strings.NewReader(coursesTxt))
		for line := 1; sc.Scan(); line++ {
			f := strings.Fields(sc.Text())
			if len(f) != 3 {
				continue
			}
			rec := dss.Record{"idnumber": f[0], "name": f[1], "credits": f[2]}
			if err := yield(rec, dss.Pos{Source: "courses.txt", Line: line}); err != nil {
				return err
			}
		}
		return sc.Err()
	})
	fmt.Println(source.Import(context.Background()))
	// Output:
	// dss: source.courses: courses.txt:4: idnumber 'c3': key "credits" value "many": cannot convert to int: invalid syntax
}
