package dss

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMENamesRealTests: the README names the test behind each promise;
// every test, fuzz test and example it names exists in the module, so that a
// renamed or deleted test cannot leave a promise without one.
func TestREADMENamesRealTests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	named := regexp.MustCompile("`((?:Test|Fuzz|Example)[A-Za-z0-9_]*)`").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, named, "the README names its tests")

	var sources strings.Builder
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, "_test.go") {
			text, err := os.ReadFile(path)
			sources.Write(text)
			return err
		}
		return nil
	})
	require.NoError(t, err)
	for _, m := range named {
		require.Regexp(t, `(?m)^func `+m[1]+`\(`, sources.String(), "README.md names %s, which is no test", m[1])
	}
}
