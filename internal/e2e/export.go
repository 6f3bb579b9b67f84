package main

import (
	"encoding/csv"
	"fmt"
	"os"
)

// The exports, in usersync's format: idnumber,name,email,department, the
// name as "Last, First". Everything derives from N and the user's index i
// (0 <= i < N):
//
//   - idnumber 10000000+i (eight digits, so text order is number order);
//   - name lastNames[i%23], firstNames[(i/23)%17], written "Last, First",
//     except i%7 == 3 with spaces around both parts ("  Last ,  First ")
//     and i%11 == 5 with a second comma ("Last, First, Jr."), which the
//     name's derivation must handle alike in every program;
//   - email user<idnumber>@school.example;
//   - department dept-%04d of i%D, D = N/100 + 7, except i%97 == 13 with
//     none (no group) and the users that the changed export removes, in
//     the department "retired" (a group that the changed export removes).
//
// The changed export ("1% changed") differs from the initial one in:
//
//   - i%1000 == 99 removed (0.1%);
//   - i%100 == 37 changed (1%): by (i/100)%3, the first name, the email
//     or the department (to the next one);
//   - N/1000 + 3 users added after the last one, in the new department
//     "dept-new".

var (
	firstNames = [17]string{"Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Ken",
		"Leslie", "Margaret", "Niklaus", "Ole", "Radia", "Shafi", "Tony", "Łucja"}
	lastNames = [23]string{"Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Floyd", "Goldwasser", "Hamilton",
		"Hopper", "Kahn", "Knuth", "Lamport", "Liskov", "Lovelace", "McCarthy", "Perlman", "Ritchie", "Shannon",
		"Thompson", "Turing", "Wirth", "Yáñez", "Zuse"}
)

func removed(i int) bool { return i%1000 == 99 }
func changed(i int) bool { return i%100 == 37 }
func added(n int) int    { return n/1000 + 3 }

type exportUser struct{ id, lastFirst, email, department string }

// initialUser is user i of the initial export of n users.
func initialUser(n, i int) exportUser {
	id := 10000000 + i
	last, first := lastNames[i%len(lastNames)], firstNames[(i/len(lastNames))%len(firstNames)]
	u := exportUser{
		id:         fmt.Sprint(id),
		lastFirst:  last + ", " + first,
		email:      fmt.Sprintf("user%d@school.example", id),
		department: fmt.Sprintf("dept-%04d", i%(n/100+7)),
	}
	switch {
	case i%7 == 3:
		u.lastFirst = "  " + last + " ,  " + first + " "
	case i%11 == 5:
		u.lastFirst = last + ", " + first + ", Jr."
	}
	switch {
	case removed(i):
		u.department = "retired"
	case i%97 == 13:
		u.department = ""
	}
	return u
}

// changedUser is user i of the changed export, and whether it is in it.
func changedUser(n, i int) (exportUser, bool) {
	if i >= n {
		u := initialUser(n, i) // an added user
		u.department = "dept-new"
		return u, true
	}
	if removed(i) {
		return exportUser{}, false
	}
	u := initialUser(n, i)
	if changed(i) {
		switch (i / 100) % 3 {
		case 0:
			u.lastFirst = lastNames[i%len(lastNames)] + ", " + firstNames[(i/len(lastNames)+1)%len(firstNames)]
		case 1:
			u.email = fmt.Sprintf("user%d.new@school.example", 10000000+i)
		case 2:
			u.department = fmt.Sprintf("dept-%04d", (i+1)%(n/100+7))
		}
	}
	return u, true
}

// writeExports writes the initial and the changed export of n users and
// returns how many rows each has.
func writeExports(n int, initialPath, changedPath string) (initialRows, changedRows int, err error) {
	initialRows, err = writeExport(initialPath, n, func(i int) (exportUser, bool) { return initialUser(n, i), true })
	if err != nil {
		return 0, 0, err
	}
	changedRows, err = writeExport(changedPath, n+added(n), func(i int) (exportUser, bool) { return changedUser(n, i) })
	return initialRows, changedRows, err
}

func writeExport(path string, count int, user func(i int) (exportUser, bool)) (rows int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := csv.NewWriter(f)
	if err := w.Write([]string{"idnumber", "name", "email", "department"}); err != nil {
		return 0, err
	}
	for i := range count {
		u, ok := user(i)
		if !ok {
			continue
		}
		if err := w.Write([]string{u.id, u.lastFirst, u.email, u.department}); err != nil {
			return 0, err
		}
		rows++
	}
	w.Flush()
	return rows, w.Error()
}
