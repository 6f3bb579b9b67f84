package dss_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/datastoresync/dss"
)

// A summary for a pull request: the verdict, the counts, and the first
// actions of each branch and kind in <details> blocks.
func ExamplePlan_WriteMarkdown() {
	ds := dss.New[School, School]()
	source, dest := ds.Source.Branches, ds.Dest.Branches
	source.Users.Importer = dss.Records(
		dss.Record{"idnumber": "11111", "name": "Ada Lovelace"},
		dss.Record{"idnumber": "22222", "name": "Charles Babbage"},
		dss.Record{"idnumber": "33333", "name": "Mary Somerville"},
		dss.Record{"idnumber": "44444", "name": "Grace Hopper"},
	)
	source.Groups.Importer = dss.Records()
	dest.Users.Importer = dss.Records(dss.Record{"idnumber": "11111", "name": "Ada Byron"})
	dest.Groups.Importer = dss.Records()
	if err := ds.Import(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	plan, err := ds.Plan()
	if err != nil {
		fmt.Println(err)
		return
	}
	// Two actions of each branch and kind, within GitHub's comment size.
	if err := plan.WriteMarkdown(os.Stdout, dss.MarkdownOptions{PerGroup: 2}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ### dss plan: source → dest
	//
	// ✅ **Accepted by the guards: 4 actions, changing 4 objects**
	//
	// | branch | new | update | add | remove | old | unchanged objects |
	// |:--|--:|--:|--:|--:|--:|--:|
	// | users | 3 | 1 | 0 | 0 | 0 | 0 |
	// | groups | 0 | 0 | 0 | 0 | 0 | 0 |
	//
	// <details><summary>users: new, 3 actions, the first 2 listed</summary>
	//
	// ```
	// new_users(idnumber='22222')
	// new_users(idnumber='33333')
	// ```
	//
	// </details>
	//
	// <details><summary>users: update, 1 action</summary>
	//
	// ```
	// update_name(idnumber='11111', attr="name", value="Ada Lovelace")  # was "Ada Byron"
	// ```
	//
	// </details>
	//
	// 3 of 4 actions are listed (the first 2 of each branch and kind); 1 is left out.
}

// A page to review in a browser: one file, with nothing to fetch.
func ExamplePlan_WriteHTML() {
	ds := dss.New[School, School]()
	ds.Source.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "11111", "name": "Ada Lovelace"})
	ds.Source.Branches.Groups.Importer = dss.Records()
	ds.Dest.Branches.Users.Importer = dss.Records()
	ds.Dest.Branches.Groups.Importer = dss.Records()
	if err := ds.Import(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	plan, err := ds.Plan()
	if err != nil {
		fmt.Println(err)
		return
	}
	var page strings.Builder
	if err := plan.WriteHTML(&page); err != nil {
		fmt.Println(err)
		return
	}
	// Write it to a file (os.WriteFile("plan.html", ...)) and open it.
	fmt.Println(strings.Contains(page.String(), "Accepted by the guards: 1 action, changing 1 object"))
	// Output:
	// true
}
