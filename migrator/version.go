package migrator

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

var leadingDigits = regexp.MustCompile(`^([0-9]+)_`)

// TimestampLayout is the layout of timestamp versions (20260101120000).
const TimestampLayout = "20060102150405"

// NextSequential returns the next version after the highest in dir and the
// zero-padded width to print it with (4 by default, as 0001).
func NextSequential(dir string) (int64, int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A folder not created yet (create --dry-run) holds no version.
		return 0, 0, err
	}
	var top int64
	var topFile string
	width := 4
	for _, e := range entries {
		m := leadingDigits.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		if v >= top {
			top, topFile = v, e.Name()
			width = len(m[1])
		}
	}
	if top == math.MaxInt64 {
		// top + 1 would wrap to a negative version, which no load accepts.
		return 0, 0, &SourceError{Dir: dir, Problems: []Problem{{File: filepath.Join(dir, topFile), Msg: "has the largest version there is (2^63-1), so no migration can follow it; renumber it"}}}
	}
	return top + 1, width, nil
}

// NextVersion returns the version a new migration in dir gets, in the
// folder's own style: when its newest version is a timestamp (14 digits)
// the UTC time now, otherwise the next number with the folder's padding.
// It is always above every version in the folder.
func NextVersion(dir string, now time.Time) (string, error) {
	next, width, err := NextSequential(dir)
	if err != nil {
		return "", err
	}
	if width != len(TimestampLayout) {
		return fmt.Sprintf("%0*d", width, next), nil
	}
	stamp := now.UTC().Format(TimestampLayout)
	if v, _ := strconv.ParseInt(stamp, 10, 64); v >= next {
		return stamp, nil
	}
	return strconv.FormatInt(next, 10), nil
}

// NextTimestamp returns the version `create --timestamp` gives a new
// migration in dir: the UTC time now, or, when the folder already holds that
// second or a later one (two creates in one second), the next number after
// its newest version, so that no two migrations share a version.
func NextTimestamp(dir string, now time.Time) (string, error) {
	next, _, err := NextSequential(dir)
	if err != nil {
		return "", err
	}
	stamp := now.UTC().Format(TimestampLayout)
	if v, _ := strconv.ParseInt(stamp, 10, 64); v >= next {
		return stamp, nil
	}
	return strconv.FormatInt(next, 10), nil
}
