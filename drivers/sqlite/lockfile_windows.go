//go:build windows

package sqlite

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffsetHigh places the locked byte far past the holder's note at the
// start of the file: Windows locks are mandatory, and waiters must still be
// able to read who holds the lock.
const lockOffsetHigh = 1

// tryLockFile takes an exclusive lock on one byte of f without waiting.
// Windows releases it when the holder's process dies, as flock does.
func tryLockFile(f *os.File) (bool, error) {
	ol := &windows.Overlapped{OffsetHigh: lockOffsetHigh}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	return err == nil, err
}

func unlockFile(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &windows.Overlapped{OffsetHigh: lockOffsetHigh})
}

// folderWritable is not checked on Windows, whose access lists a mode test
// cannot read; a folder that cannot be written fails the first write.
func folderWritable(string) error { return nil }
