package migrator

import "testing"

// SetLargeScript lowers the size above which scripts are streamed, for
// the length of one test, so small files exercise the large-script path.
func SetLargeScript(t testing.TB, n int64) {
	old := largeScript
	largeScript = n
	t.Cleanup(func() { largeScript = old })
}
