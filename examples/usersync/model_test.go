package main

import (
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsstest"
)

// TestModel checks usersync's model without a database: names derive from
// "Last, First", groups from departments, and the plan converges.
func TestModel(t *testing.T) {
	ds := dss.New[Source, Dest]()
	ds.Source.Branches.Groups.Importer = departmentGroups(ds.Source.Branches.Users)
	dsstest.Import(t, ds.Source, dsstest.Records{"users": {
		{"idnumber": "1", "_lastfirst": "Okafor, Chidi", "email": "c@x", "department": "maths"},
		{"idnumber": "2", "_lastfirst": "Lindqvist,Astrid", "email": "a@x", "department": "physics"},
	}})
	dsstest.Import(t, ds.Dest, dsstest.Records{
		"users":  {{"idnumber": "2", "name": "Astrid L", "email": "a@x", "department": "maths"}},
		"groups": {{"idnumber": "maths", "members": []string{"2"}}},
	})
	dsstest.AssertPlan(t, dsstest.Plan(t, ds),
		`new_users(idnumber='1')`,
		`new_groups(idnumber='physics')`,
		`update_name(idnumber='2', attr="name", value="Astrid Lindqvist")`,
		`update_department(idnumber='2', attr="department", value="physics")`,
		`add_members_to_groups(idnumber='maths', attr="members", value="1")`,
		`remove_members_from_groups(idnumber='maths', attr="members", value="2")`,
	)
	dsstest.Converges(t, ds)
}
