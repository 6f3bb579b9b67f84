// Package dss, datastoresync for Go, makes a one-way sync between two
// applications straightforward. A school exports its users as CSV every
// night; an application keeps accounts and groups in a database. A sync
// program declares its trees, branches and objects, writes one small
// importer per branch and one template method per kind of change, and dss
// does the rest: import, diff, a readable plan, a safe apply.
//
// # Vocabulary
//
// Data lives in four levels, as in the original Python datastoresync:
//
//	level  name       Go
//	1      datastore  Datastore[S, D]: owns both trees and the sync's lifecycle
//	2      trees      Tree[T]: "source", the point of truth, and "dest"
//	3      branches   Branch[K, V]: one kind of object (users, groups)
//	4      objects    the program's structs, decoded from Records
//
// The original's operators are methods: +source and +dest are
// [Datastore.Import], source - dest is [Datastore.Plan], source > dest is
// [Plan.Print] and source >> dest is [Datastore.Apply]. A sync program is
// one path:
//
//	ds := dss.New[Source, Dest]()
//	// one importer per branch of ds.Source and ds.Dest
//	if err := ds.Import(ctx); err != nil { ... }
//	plan, err := ds.Plan()      // judged by the guards: plan.Refusal()
//	plan.Print(os.Stdout)
//	report, err := ds.Apply(ctx, plan, dss.Methods(&Accounts{tx: tx}))
//
// [Tree.Diff] and [DiffObjects] stay for tests and for exploring.
//
// # Define the objects
//
// An object is a struct. Record keys map to fields by the tag `dss:"key"`,
// else by the field's name in snake_case (FirstName: first_name), and a key
// also matches a field's name ignoring case, as encoding/json does. One field
// is the idnumber, unique in its branch: tag it `dss:"idnumber"` or name it
// IDNumber. Fields may be strings, booleans, integers, floats, time.Time, or
// slices of strings, integers or floats, which are compared as sets. A field
// that may be absent (NULL in SQL) is a pointer to one of those scalars, or
// a database/sql Null[T] of one: NULL decodes to nil or Null{Valid: false},
// which differs from the zero value, and a template hands an action's Value
// to database/sql as it is to write NULL.
//
// A key that begins with "_" is decoded but never synced, and needs no twin
// on the other side. An object that implements [Deriver] completes itself
// after decoding, as the original's properties do:
//
//	type User struct {
//		IDNumber  string `dss:"idnumber"`
//		LastFirst string `dss:"_lastfirst"` // "Lovelace, Ada": not synced
//		Name      string `dss:"name"`       // "Ada Lovelace": synced
//	}
//
//	func (u *User) Derive() error {
//		last, first, _ := strings.Cut(u.LastFirst, ", ")
//		u.Name = first + " " + last
//		return nil
//	}
//
// Both trees must give their paired objects the same synced attributes with
// the same types. When they do not, Diff reports it as KindError actions
// (err_no_attr, err_integrity) instead of failing.
//
// # Define the branches
//
// A tree's type parameter is a struct of *Branch fields; [New] fills
// them in and checks every object type once, panicking with a message that
// names each wrong field. Branches pair with their twins by name, and their
// field order is the import and plan order:
//
//	type School struct {
//		Users  *dss.Branch[string, User]
//		Groups *dss.Branch[string, Group]
//	}
//
//	ds := dss.New[School, School]()
//	u, ok := ds.Source.Branches.Users.Get("11111") // the original's source.users.get('11111')
//
// # Write the importers
//
// Each branch has one [Importer], a function that yields [Record] values:
// maps of primitive values. Importers run in branch order, so a later branch
// can derive from an earlier one, and records with the same idnumber
// accumulate: one record per group membership becomes one group with all its
// members. A branch where one record is one object, like users, should be
// Unique: a repeated idnumber is then an error, and the import is faster. A
// branch can Filter records out and Preprocess them. Strings
// convert to a field's type where that is unambiguous ("7" to int, "true" to
// bool, RFC 3339 to time.Time); a value that does not convert fails the
// import with an [ImportError] that names the tree, branch, record position,
// key and value. The subpackages dsscsv, dssjsonl and dsssql import CSV
// files, JSON Lines files and SQL queries.
//
// Records with fixed keys and text values, a CSV file's rows, can come as
// rows instead: a [RowImporter] (dsscsv's Importer, or [RowsFunc] for your
// own code) yields each record's values in the order of its keys, which dss
// maps to fields once per import instead of once per record. A row decodes
// as its Record would; Filter and Preprocess, which take Records, are given
// Records made of the rows.
//
// # Plan, print, apply
//
// [Datastore.Plan] lists the actions that make the destination equal to the
// source: model errors, then every new_<branch>, then attribute changes
// (update_<attr>, add_<attr>_to_<branch>, remove_<attr>_from_<branch>),
// then every old_<branch> in reverse branch order, so that groups are
// removed before the users they hold. The plan is deterministic: objects
// are visited in idnumber order, whatever order they were imported in.
// [Plan.Print] writes it as text; for people who review it elsewhere,
// [Plan.WriteHTML] writes a self-contained page to open in a browser and
// [Plan.WriteMarkdown] a summary for a pull request or a ticket.
//
// A destination implements [Template]: Apply(ctx, batch) receives the plan
// in order, each run of consecutive actions with the same name and branch
// as one batch.
// [Methods] is the original's template: it hands each action to the method
// named after it (update_name to UpdateName, add_members_to_groups to
// AddMembersToGroups), a method that takes one action or the whole batch.
// Its methods are resolved before the first action, with one error that
// lists every problem, and a plan with actions the template lacks is
// refused unless [AllowPartial] is given. Apply reports what was applied,
// what failed and what was not reached; a template method that panics is a
// failed action, and cancelling the context stops Apply between calls.
// [Combine] makes one template of several (a table mapping per branch and
// the program's own methods): each batch goes to the first that handles it.
// Before it commits, a program calls [Datastore.Verify] to read back what
// Apply wrote: a destination that does not keep a value as written (a
// column type, a trigger) is an error ([ErrNotKept]) rather than a change
// every run repeats. An importer that is a [KeysImporter] reads back only
// the objects the plan touched, unless they are over an eighth of a large
// branch.
//
// For a destination behind a network API, [Workers] makes several calls at
// once, phase by phase and never two on one object; a template that is safe
// for that says so ([Concurrent]). Errors marked [Temporary] or
// [RetryAfter] are retried with backoff ([Retry]), and [RateLimit] keeps
// the calls under the API's rate.
//
// # Safety
//
// The guards judge a plan when it is made: [Plan.Refusal] says why Apply
// would refuse it, when a source branch imported empty while its
// destination twin is not, or the plan deletes or removes more than a
// destination branch's [Guard] allows. A dry run that prints the plan and
// the real run therefore agree. A plan is applied once, only to the imports
// it was made from ([ErrSpent], [ErrStale], [ErrNotImported]). A plan
// encodes to JSON for review, and Apply takes the decoded plan later only if
// the destination has not drifted since ([ErrDrift]).
// [Tree.RedactValues] keeps record values out of errors.
//
// # Secrets
//
// A field tagged secret, `dss:"password_hash,secret"`, holds a value that
// is never shown: [Action.String], [Plan.Print], the [Report], dss's errors
// (import, bind and apply) and its log lines write [redacted] where its
// value would be, and a saved plan leaves it out, marking the update of one
// "secret":true. Applying a saved plan takes the secret values from the
// source, which must then be imported ([Datastore.Import]). The template
// gets the values, to write them. A saved tree ([Tree.SaveFile]) holds
// them, in a file only its owner can read.
//
// # Testing
//
// The package dsstest tests a sync program's model without a database:
// trees from literal records, plans compared line by line or with golden
// files, and a one-call check that a plan converges.
package dss
