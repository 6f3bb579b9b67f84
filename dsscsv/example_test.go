package dsscsv_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsscsv"
)

// Student is one user of a school's nightly export.
type Student struct {
	IDNumber  string   `dss:"idnumber"`
	LastFirst string   `dss:"_lastfirst"` // imported, never synced
	Name      string   `dss:"name"`
	Year      int      `dss:"year"`
	Groups    []string `dss:"groups"`
}

// Derive sets Name from "Last, First".
func (s *Student) Derive() error {
	last, first, _ := strings.Cut(s.LastFirst, ", ")
	s.Name = strings.TrimSpace(first + " " + last)
	return nil
}

type Export struct {
	Students *dss.Branch[string, Student]
}

// A spreadsheet's export: a byte order mark, semicolons, CRLF, quoted fields and
// the groups of each student in one column.
const exportCSV = "\ufeffStudent ID;Name;Year;Groups\r\n" +
	"11111;\"Doe, Jane\";9;\"chess, choir\"\r\n" +
	"22222;Roe, Richard;10;\r\n"

func Example() {
	ctx := context.Background()
	source := dss.NewTree[Export]("source")

	// In a program: students := dsscsv.Open("students.csv")
	students := dsscsv.New(strings.NewReader(exportCSV), "students.csv")
	students.Comma = ';'
	students.Rename = map[string]string{"Student ID": "idnumber", "Name": "_lastfirst", "Year": "year", "Groups": "groups"}
	students.Lists = map[string]string{"groups": ","}
	source.Branches.Students.Importer = students

	if err := source.Import(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for id, s := range source.Branches.Students.All() {
		fmt.Printf("%s: %q year %d groups %q\n", id, s.Name, s.Year, s.Groups)
	}
	// Output:
	// 11111: "Jane Doe" year 9 groups ["chess" "choir"]
	// 22222: "Richard Roe" year 10 groups []
}

// A bad value is reported by dss with the file and line of its row; a
// malformed file by dsscsv, with the line and column.
func Example_errors() {
	ctx := context.Background()
	for _, data := range []string{
		"idnumber,year\n11111,9\n22222,ten\n",
		"idnumber,year\n11111,9\n22222,1\"0\n",
		"id,year\n11111,9\n",
	} {
		source := dss.NewTree[Export]("source")
		source.Branches.Students.Importer = dsscsv.New(strings.NewReader(data), "students.csv")
		fmt.Println(source.Import(ctx))
	}
	// Output:
	// dss: source.students: students.csv:3: idnumber '22222': key "year" value "ten": cannot convert to int: invalid syntax
	// dss: source.students: csv students.csv:3:8: bare " in non-quoted-field
	// dss: source.students: csv students.csv:1: header: no idnumber column: want a column "idnumber", or Rename one to it (columns: "id", "year")
}
