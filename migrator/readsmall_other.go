//go:build !unix

package migrator

// readSmall has no fast path here: every file takes the general path.
func readSmall(diskFS, string, []byte) (int, bool) { return 0, false }
