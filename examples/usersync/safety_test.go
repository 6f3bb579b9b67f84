package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTruncatedExportRefused: an export whose last row has no line ending
// may have been cut inside its last field; it is refused unless
// -allow-no-final-newline says the file is whole (issue 10, point 7).
func TestTruncatedExportRefused(t *testing.T) {
	b := backends(t)[0]
	code, _, errOut := runSync(t, b)
	require.Equal(t, exitOK, code, errOut)
	before := snapshot(t, b.db)

	cut := strings.TrimSuffix(defaultCSV, "\r\n")
	cut = cut[:len(cut)-3] // "languages" becomes "langua"
	path := writeCSV(t, t.TempDir(), cut)
	code, out, errOut := runSync(t, b, "-csv", path)
	require.Equal(t, exitError, code, out)
	require.Contains(t, errOut, "users.csv:41:")
	require.Contains(t, errOut, "no line ending after the last record")
	require.Equal(t, before, snapshot(t, b.db))

	code, out, errOut = runSync(t, b, "-csv", path, "-allow-no-final-newline", "-dry-run")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, `update_department(idnumber='20240274', attr="department", value="langua")`)
}

// TestErrorsRedactPersonalData: values from the export stay out of error
// messages unless -show-values asks for them (issue 10, point 6).
func TestErrorsRedactPersonalData(t *testing.T) {
	b := backends(t)[0]
	withPhone := strings.Replace(defaultCSV, "idnumber,name,email,department", "idnumber,name,email,department,phone", 1)
	withPhone = strings.Replace(withPhone, "chidi.okafor@school.example,mathematics", "chidi.okafor@school.example,mathematics,+44 7700 900123", 1)
	path := writeCSV(t, t.TempDir(), withPhone)
	code, out, errOut := runSync(t, b, "-csv", path)
	require.Equal(t, exitError, code, out)
	require.Contains(t, errOut, `key "phone" value [redacted]`)
	require.NotContains(t, errOut, "7700")

	code, _, errOut = runSync(t, b, "-csv", path, "-show-values")
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, `key "phone" value "+44 7700 900123"`)

	badName := strings.Replace(defaultCSV, `"Okafor, Chidi"`, `Chidi Okafor`, 1)
	code, _, errOut = runSync(t, b, "-csv", writeCSV(t, t.TempDir(), badName))
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, `the name is not "Last, First"`)
	require.NotContains(t, errOut, "Okafor")
}
