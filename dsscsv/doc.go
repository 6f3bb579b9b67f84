// Package dsscsv imports the branches of a dss tree from CSV files.
//
// An Importer reads one CSV file and yields one dss.Record per row, keyed by
// the file's header (or by explicit Columns), with string values; dss
// converts them to the fields' types as it decodes each record:
//
//	users := dsscsv.Open("users.csv")
//	users.Comma = ';'
//	users.Rename = map[string]string{"ID": "idnumber", "Last, First": "_lastfirst"}
//	users.Lists = map[string]string{"groups": ","}
//	source.Branches.Users.Importer = users
//
// It is also a dss.RowImporter: dss asks for the rows themselves, the
// fields in the order of the columns, and decodes them by position without
// making a Record per row, unless the branch has a Filter or a Preprocess,
// or Lists is set (a list column is not text).
//
// The Importer is a dss.Positioner, so a bad value is reported with the file
// and line of its row:
//
//	dss: source.users: users.csv:3: idnumber '22222': key "age" value "x": cannot convert to int: invalid syntax
//
// Errors of the file itself are *Error values that name the file, line and
// column: "csv users.csv:12:5: bare \" in non-quoted-field". Like
// encoding/csv's ParseError they carry no package prefix: they are causes,
// which the tree's import error wraps once, as in
// "dss: source.users: csv users.csv:12:5: bare \" in non-quoted-field".
//
// Lines end with "\n" or "\r\n", as RFC 4180 has it: a '\r' outside quotes
// that is not followed by '\n' ("\r\r\n", old Macs' lone "\r", a "\r" at
// the end of the file) fails the import with ErrBareCR at its line and
// column, rather than stay in a field. Inside quotes, a '\r' is data.
//
// A file cut short inside its last row is imported with that row cut, unless
// RequireFinalNewline is set: then a last record without a line ending fails
// the import with ErrNoFinalNewline before it is yielded. It is off by
// default, as many exports omit the final newline; turn it on for files from
// a program known to write one:
//
//	users.RequireFinalNewline = true
//
// and a cut file fails with an error that errors.Is finds ErrNoFinalNewline
// in: "csv users.csv:3:13: no line ending after the last record
// (RequireFinalNewline): the file may be truncated".
//
// Every row has as many fields as the header, unless AllowShortRows is
// set: then a row may end early, as in exports that leave out empty trailing
// fields (distro-info-data's debian.csv has eight columns, and rows of four
// to eight fields). The columns a short row lacks are absent from its
// record, not empty strings:
//
//	releases.AllowShortRows = true
//
// A row with more fields than the header fails the import either way.
//
// The import streams: it holds one record at a time, and refuses a record
// longer than MaxRecordSize bytes or wider than MaxColumns fields before it
// can exhaust memory, so that an untrusted or broken export fails with an
// error rather than a crash.
package dsscsv
