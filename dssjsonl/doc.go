// Package dssjsonl imports the branches of a dss tree from JSON Lines files:
// one JSON object per line, each one dss.Record.
//
//	courses := dssjsonl.Open("courses.jsonl")
//	source.Branches.Courses.Importer = courses
//
// with a file such as
//
//	{"idnumber": "c1", "name": "Algebra", "credits": 5, "teachers": ["t1", "t2"]}
//	{"idnumber": "c2", "name": "Biology", "credits": 4, "teachers": []}
//
// A record holds strings, numbers, booleans, null and lists of them; dss
// converts them to the fields' types as it decodes each record. Numbers are
// json.Number values, the number's text: they convert exactly to integer,
// float and string fields (an integer beyond float64's 2^53, an idnumber
// written as a number); a number written with a fraction or an exponent
// ("4.0", "1e3") converts to a float field or a string field, not to an
// integer field. An object as a value, or a list in a list, fails the
// import with ErrNested at its line and column.
//
// The Importer is a dss.Positioner, so a bad value is reported with the file
// and line of its record:
//
//	dss: source.courses: courses.jsonl:3: idnumber 'c3': key "credits" value "many": cannot convert to int: invalid syntax
//
// Errors of the file itself are *Error values that name the file, line and
// column: "jsonl courses.jsonl:12:5: invalid JSON: invalid character 'x'
// looking for beginning of value". Like encoding/csv's ParseError they carry
// no package prefix: they are causes, which the tree's import error wraps
// once ("dss: source.courses: jsonl courses.jsonl:12:5: ..."). Besides invalid JSON (ErrSyntax), a
// line that is not an object (ErrNotObject), a key repeated in one object
// (ErrDuplicateKey, which encoding/json would resolve silently by keeping the
// last), and text that is not UTF-8 or an escaped lone surrogate such as
// "\ud800" (ErrNotUTF8, which encoding/json would replace with U+FFFD
// silently) fail the import at their line and column.
//
// Lines end with "\n" or "\r\n"; blank lines are skipped, and so is a UTF-8
// byte order mark at the start. The import streams: it holds one line at a
// time, and refuses a line longer than MaxRecordSize bytes (1 MiB by
// default) after reading about that much of it, so that an untrusted or
// broken export fails with an error rather than exhaust memory.
package dssjsonl
