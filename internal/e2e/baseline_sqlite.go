package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, for the benchmark's checks
	_ "modernc.org/sqlite"             // SQLite without cgo, as usersync uses
)

// The SQLite baseline: the export is read with encoding/csv into a map, the
// three tables into maps, and in one transaction only the differences are
// written, with one prepared statement per table and operation.

type user struct{ id, name, email, department string }

type membership struct{ group, user string }

// readExport reads the export: its users in file order, and by idnumber.
func readExport(path string) ([]user, map[string]user, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil || strings.Join(header, ",") != exportHeader {
		return nil, nil, fmt.Errorf("%s: the first line is not %q", path, exportHeader)
	}
	var users []user
	byID := make(map[string]user)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		line, _ := r.FieldPos(0)
		last, first, ok := strings.Cut(rec[1], ",")
		if rec[0] == "" || !ok {
			return nil, nil, fmt.Errorf("%s:%d: an empty idnumber, or a name that is not \"Last, First\"", path, line)
		}
		u := user{id: rec[0], name: strings.TrimSpace(first) + " " + strings.TrimSpace(last), email: rec[2], department: rec[3]}
		if _, dup := byID[u.id]; dup {
			return nil, nil, fmt.Errorf("%s:%d: idnumber %q is repeated", path, line, u.id)
		}
		users = append(users, u)
		byID[u.id] = u
	}
	return users, byID, nil
}

// sqliteDSN opens the file as usersync does: foreign keys on, a busy
// timeout, and transactions that take the write lock when they begin.
func sqliteDSN(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) +
		"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_txlock=immediate"
}

func syncSQLite(ctx context.Context, csvPath, dbPath string) error {
	users, want, err := readExport(csvPath)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", sqliteDSN(dbPath))
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}

	// What the database has.
	have := make(map[string]user)
	err = scanRows(ctx, tx, `SELECT idnumber, name, email, department FROM users`, func(rows *sql.Rows) error {
		var u user
		err := rows.Scan(&u.id, &u.name, &u.email, &u.department)
		have[u.id] = u
		return err
	})
	if err != nil {
		return err
	}
	haveGroups := make(map[string]bool)
	err = scanRows(ctx, tx, `SELECT idnumber FROM "groups"`, func(rows *sql.Rows) error {
		var g string
		err := rows.Scan(&g)
		haveGroups[g] = true
		return err
	})
	if err != nil {
		return err
	}
	haveMembers := make(map[membership]bool)
	err = scanRows(ctx, tx, `SELECT group_idnumber, user_idnumber FROM group_members`, func(rows *sql.Rows) error {
		var m membership
		err := rows.Scan(&m.group, &m.user)
		haveMembers[m] = true
		return err
	})
	if err != nil {
		return err
	}

	// What changes. Rows are written in key order, as B-trees like them.
	var oldMembers, newMembers []membership
	for m := range haveMembers {
		if u, ok := want[m.user]; !ok || u.department != m.group {
			oldMembers = append(oldMembers, m)
		}
	}
	wantGroups := make(map[string]bool)
	var newGroups, oldGroups, oldUsers []string
	var newUsers, changedUsers []user
	for _, u := range users {
		if h, ok := have[u.id]; !ok {
			newUsers = append(newUsers, u)
		} else if h != u {
			changedUsers = append(changedUsers, u)
		}
		if u.department == "" {
			continue
		}
		if !wantGroups[u.department] {
			wantGroups[u.department] = true
			if !haveGroups[u.department] {
				newGroups = append(newGroups, u.department)
			}
		}
		if m := (membership{u.department, u.id}); !haveMembers[m] {
			newMembers = append(newMembers, m)
		}
	}
	for g := range haveGroups {
		if !wantGroups[g] {
			oldGroups = append(oldGroups, g)
		}
	}
	for id := range have {
		if _, ok := want[id]; !ok {
			oldUsers = append(oldUsers, id)
		}
	}
	byMembership := func(a, b membership) int {
		return cmp.Or(strings.Compare(a.group, b.group), strings.Compare(a.user, b.user))
	}
	byID := func(a, b user) int { return strings.Compare(a.id, b.id) }
	slices.SortFunc(oldMembers, byMembership)
	slices.SortFunc(newMembers, byMembership)
	slices.Sort(oldGroups)
	slices.Sort(newGroups)
	slices.Sort(oldUsers)
	slices.SortFunc(newUsers, byID)
	slices.SortFunc(changedUsers, byID)

	// The writes, in an order the foreign keys allow.
	steps := []struct {
		query string
		n     int
		args  func(i int) []any
	}{
		{`DELETE FROM group_members WHERE group_idnumber = ? AND user_idnumber = ?`, len(oldMembers),
			func(i int) []any { return []any{oldMembers[i].group, oldMembers[i].user} }},
		{`DELETE FROM "groups" WHERE idnumber = ?`, len(oldGroups),
			func(i int) []any { return []any{oldGroups[i]} }},
		{`DELETE FROM users WHERE idnumber = ?`, len(oldUsers),
			func(i int) []any { return []any{oldUsers[i]} }},
		{`UPDATE users SET name = ?, email = ?, department = ? WHERE idnumber = ?`, len(changedUsers),
			func(i int) []any {
				u := changedUsers[i]
				return []any{u.name, u.email, u.department, u.id}
			}},
		{`INSERT INTO users (idnumber, name, email, department) VALUES (?, ?, ?, ?)`, len(newUsers),
			func(i int) []any {
				u := newUsers[i]
				return []any{u.id, u.name, u.email, u.department}
			}},
		{`INSERT INTO "groups" (idnumber) VALUES (?)`, len(newGroups),
			func(i int) []any { return []any{newGroups[i]} }},
		{`INSERT INTO group_members (group_idnumber, user_idnumber) VALUES (?, ?)`, len(newMembers),
			func(i int) []any { return []any{newMembers[i].group, newMembers[i].user} }},
	}
	for _, s := range steps {
		if s.n == 0 {
			continue
		}
		stmt, err := tx.PrepareContext(ctx, s.query)
		if err != nil {
			return err
		}
		for i := range s.n {
			if _, err := stmt.ExecContext(ctx, s.args(i)...); err != nil {
				stmt.Close()
				return fmt.Errorf("%s: %w", s.query, err)
			}
		}
		if err := stmt.Close(); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// scanRows runs query and calls scan for each row.
func scanRows(ctx context.Context, tx *sql.Tx, query string, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}
