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
//	1      datastore  the sync program: it owns both trees
//	2      trees      Tree[T]: "source", the point of truth, and "dest"
//	3      branches   Branch[K, V]: one kind of object (users, groups)
//	4      objects    the program's structs, decoded from Records
//
// The original's operators are methods: +source is [Tree.Import], source -
// dest is [Tree.Diff], source > dest is [Tree.Print] and source >> dest is
// [Tree.Apply]. The original's datastore root has no type of its own here:
// each tree owns its objects in memory and saves itself ([Tree.SaveFile]),
// so a separate root would add a name without a job.
//
// # Define the objects
//
// An object is a struct. Record keys map to fields by the tag `dss:"key"`,
// else by the field's name in snake_case (FirstName: first_name), and a key
// also matches a field's name ignoring case, as encoding/json does. One field
// is the idnumber, unique in its branch: tag it `dss:"idnumber"` or name it
// IDNumber. Fields may be strings, booleans, integers, floats, time.Time, or
// slices of strings, integers or floats, which are compared as sets.
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
// A tree's type parameter is a struct of *Branch fields; [NewTree] fills
// them in and checks every object type once, panicking with a message that
// names each wrong field. Branches pair with their twins by name, and their
// field order is the import and plan order:
//
//	type School struct {
//		Users  *dss.Branch[string, User]
//		Groups *dss.Branch[string, Group]
//	}
//
//	source := dss.NewTree[School]("source")
//	u, ok := source.Branches.Users.Get("11111") // the original's source.users.get('11111')
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
// key and value. The subpackages dsscsv and dsssql import CSV files and SQL
// queries.
//
// # Diff, print, apply
//
// [Tree.Diff] yields the actions that make the destination equal to the
// source: model errors, then every new_<branch>, then attribute changes
// (update_<attr>, add_<attr>_to_<branch>, remove_<attr>_from_<branch>),
// then every old_<branch> in reverse branch order, so that groups are
// removed before the users they hold. The plan is deterministic: objects
// are visited in idnumber order, whatever order they were imported in.
//
// [Tree.Apply] hands each action to the destination template's method named
// after it: update_name to UpdateName, add_members_to_groups to
// AddMembersToGroups. [Tree.SetTemplate] resolves the methods once and lists
// every method with a wrong signature. Apply reports what was applied, what
// failed and what is not implemented; a template method that panics is a
// failed action, and cancelling the context stops Apply between actions.
//
// # Safety
//
// Apply changes nothing when an import failed, when a source branch
// imported empty while its destination twin is not, or when the plan
// deletes or removes more than a destination branch's [Guard] allows.
// [Tree.Plan] makes the plan data: it encodes to JSON for review, and
// [Tree.ApplyPlan] applies it later only if the destination has not
// drifted since. [Tree.RedactValues] keeps record values out of errors.
package dss
