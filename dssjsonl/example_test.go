package dssjsonl_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dssjsonl"
)

// Course is one course of a school's catalogue.
type Course struct {
	IDNumber string   `dss:"idnumber"`
	Name     string   `dss:"name"`
	Credits  int      `dss:"credits"`
	Teachers []string `dss:"teachers"`
}

type Catalog struct {
	Courses *dss.Branch[string, Course]
}

// An export as JSON Lines: a byte order mark, CRLF, a blank line, and an
// idnumber written as a number.
const coursesJSONL = "\ufeff" + `{"idnumber": "c1", "name": "Algebra", "credits": 5, "teachers": ["t1", "t2"]}` + "\r\n" +
	"\r\n" +
	`{"idnumber": 2, "name": "Biology", "credits": "4", "teachers": []}` + "\r\n"

func Example() {
	ctx := context.Background()
	source := dss.NewTree[Catalog]("source")

	// In a program: source.Branches.Courses.Importer = dssjsonl.Open("courses.jsonl")
	source.Branches.Courses.Importer = dssjsonl.New(strings.NewReader(coursesJSONL), "courses.jsonl")

	if err := source.Import(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for id, c := range source.Branches.Courses.All() {
		fmt.Printf("%s: %q, %d credits, teachers %q\n", id, c.Name, c.Credits, c.Teachers)
	}
	// Output:
	// 2: "Biology", 4 credits, teachers []
	// c1: "Algebra", 5 credits, teachers ["t1" "t2"]
}

// A bad value is reported by dss with the file and line of its record; a
// malformed line by dssjsonl, with the line and column.
func Example_errors() {
	ctx := context.Background()
	for _, data := range []string{
		`{"idnumber": "c1", "credits": 5}` + "\n" + `{"idnumber": "c2", "credits": 4}` + "\n" + `{"idnumber": "c3", "credits": "many"}` + "\n",
		`{"idnumber": "c1", "credits": 5}` + "\n" + `{"idnumber": "c2", "credits": 4,}` + "\n",
		`{"idnumber": "c1", "teachers": [{"id": "t1"}]}` + "\n",
	} {
		source := dss.NewTree[Catalog]("source")
		source.Branches.Courses.Importer = dssjsonl.New(strings.NewReader(data), "courses.jsonl")
		fmt.Println(source.Import(ctx))
	}
	// Output:
	// dss: source.courses: courses.jsonl:3: idnumber 'c3': key "credits" value "many": cannot convert to int: invalid syntax
	// dss: source.courses: jsonl courses.jsonl:2:33: invalid JSON: invalid character '}' looking for beginning of object key string
	// dss: source.courses: jsonl courses.jsonl:1:33: key "teachers": nested value: an object in a list (a record holds strings, numbers, booleans, null and lists of them)
}
