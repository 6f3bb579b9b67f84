package dss

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestActionString(t *testing.T) {
	tests := []struct {
		a    Action
		want string
	}{
		{Action{Kind: KindUpdate, Name: "update_name", ID: "11111", Attr: "name", Value: "New Name"},
			`update_name(idnumber='11111', attr="name", value="New Name")`},
		{Action{Kind: KindNew, Name: "new_users", ID: "22222"}, `new_users(idnumber='22222')`},
		{Action{Kind: KindOld, Name: "old_users", ID: "3"}, `old_users(idnumber='3')`},
		{Action{Kind: KindAdd, Name: "add_members_to_groups", ID: "students", Attr: "members", Value: "11111"},
			`add_members_to_groups(idnumber='students', attr="members", value="11111")`},
		{Action{Kind: KindRemove, Name: "remove_rooms_from_x", ID: "1", Attr: "rooms", Value: 7},
			`remove_rooms_from_x(idnumber='1', attr="rooms", value=7)`},
		{Action{Kind: KindUpdate, Name: "update_born", ID: "1", Attr: "born", Value: time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)},
			`update_born(idnumber='1', attr="born", value="2000-01-02T03:04:05Z")`},
		{Action{Kind: KindUpdate, Name: "update_d", ID: "1", Attr: "d", Value: dept("x\"y")},
			`update_d(idnumber='1', attr="d", value="x\"y")`},
		{Action{Kind: KindUpdate, Name: "update_ok", ID: "1", Attr: "ok", Value: false},
			`update_ok(idnumber='1', attr="ok", value=false)`},
		{Action{Kind: KindUpdate, Name: "update_x", ID: "1", Attr: "x", Value: nil},
			`update_x(idnumber='1', attr="x", value=null)`},
		{Action{Kind: KindError, Name: "err_no_attr", Attr: "email", Err: errors.New("gone")},
			`err_no_attr(attr="email", error="gone")`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.a.String())
	}
	require.Equal(t, "Kind(9)", Kind(9).String())
	require.Equal(t, "old", KindOld.String())
	require.Equal(t, `["a", 1]`, fmtValue([]any{"a", 1}))
}
