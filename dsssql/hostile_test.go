package dsssql_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

type hItem struct {
	IDNumber int      `dss:"idnumber"`
	Label    string   `dss:"label"`
	Tags     []string `dss:"tags"`
}

type hTree struct {
	Items *dss.Branch[int, hItem]
}

// TestMappingHostileNames: table and column names with quotes, backticks
// and spaces are quoted as each database wants, and an integer idnumber is
// written as an integer; values with quotes are parameters.
func TestMappingHostileNames(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		q := func(s string) string {
			if b.kind == "mysql" {
				return "`" + strings.ReplaceAll(s, "`", "``") + "`"
			}
			return dsssql.QuoteIdentifier(s)
		}
		exec(t, db, `CREATE TABLE `+q(`it'ems" x`)+` (`+q("n o")+` INTEGER PRIMARY KEY, `+q("la`bel")+` VARCHAR(50) NOT NULL)`)
		exec(t, db, `CREATE TABLE `+q("tag;s")+` (`+q("it em")+` INTEGER NOT NULL, `+q(`t"ag`)+` VARCHAR(50) NOT NULL)`)
		src := []dss.Record{
			{"idnumber": 1, "label": `O'Brien "the" ` + "`x`", "tags": "a'b"},
			{"idnumber": 1, "tags": `c"; DROP TABLE x; --`},
			{"idnumber": 20, "label": "plain"},
		}
		for run := range 2 {
			ds := dss.New[hTree, hTree]()
			ds.Source.Branches.Items.Importer = dss.Records(src...)
			items := dsssql.Map(ds.Dest.Branches.Items, `it'ems" x`, "n o")
			items.Columns = map[string]string{"label": "la`bel"}
			items.Lists = map[string]dsssql.Join{"tags": {Table: "tag;s", Owner: "it em", Member: `t"ag`}}
			ds.Dest.Branches.Items.Importer = items
			plan, _, err := syncRun(t, db, ds, items)
			if err != nil {
				t.Fatalf("run %d: %v", run+1, err)
			}
			if want := []int{2, 0}[run]; len(plan.Actions) != want {
				t.Errorf("run %d: %d actions, want %d: %v", run+1, len(plan.Actions), want, plan.Actions)
			}
		}
		wantRows(t, db, `SELECT `+q("n o")+`, `+q("la`bel")+` FROM `+q(`it'ems" x`), `1|O'Brien "the" `+"`x`", "20|plain")
	})
}
