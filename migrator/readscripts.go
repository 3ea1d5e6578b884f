package migrator

import (
	"bytes"
	"io/fs"
	"path"
	"runtime"
	"sync"
)

// parsedScript is one migration file read and checked.
type parsedScript struct {
	script     Script
	directives map[string]bool
	problems   []Problem
	readErr    error
}

// readScripts reads and parses the named files of dir concurrently. Opening
// a file costs far more than hashing a small one, and a folder of 10000
// migrations is 20000 files: `status` spends most of its time here, and the
// reads overlap well even on two cores.
func readScripts(fsys fs.FS, dir string, names []string) map[string]*parsedScript {
	out := make(map[string]*parsedScript, len(names))
	for _, name := range names {
		out[name] = &parsedScript{}
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(len(names), 4*runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, smallScript)
			for name := range work {
				p := out[name] // the map is only read while workers run
				p.readErr = readScript(fsys, path.Join(dir, name), name, p, buf)
			}
		}()
	}
	for _, name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	return out
}

// smallScript is the size below which a file on disk is read in one go.
const smallScript = 64 << 10

// diskFS is a folder on disk: LoadDir's fs.FS, which also allows reading
// small files with fewer system calls.
type diskFS struct {
	fs.FS
	root string
}

// readScript reads one file into p; a large one is only streamed through.
// buf is the worker's scratch space for small files on disk.
func readScript(fsys fs.FS, file, name string, p *parsedScript, buf []byte) error {
	if d, ok := fsys.(diskFS); ok {
		if n, fits := readSmall(d, file, buf); fits && int64(n) <= largeScript {
			// parseScript copies what it keeps, so buf can be reused.
			p.script, p.directives, p.problems = parseScript(name, buf[:n])
			return nil
		}
	}
	f, err := fsys.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() > largeScript {
		p.script, p.directives, p.problems, err = parseLargeScript(fsys, file, name, f)
		return err
	}
	var all bytes.Buffer
	all.Grow(int(info.Size()) + bytes.MinRead)
	if _, err := all.ReadFrom(f); err != nil {
		return err
	}
	p.script, p.directives, p.problems = parseScript(name, all.Bytes())
	return nil
}
