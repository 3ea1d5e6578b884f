//go:build !unix

package migrator

import "io/fs"

// dirReader has no fast path here: every file takes the general path.
type dirReader struct{}

func openDirReader(fs.FS, string) *dirReader { return nil }

func (*dirReader) close() {}

func (*dirReader) readSmall(string, []byte) (int, bool) { return 0, false }
