package migrator

import (
	"bytes"
	"io/fs"
	"path"
	"runtime"
	"sync"
	"sync/atomic"
)

// parsedScript is one migration file read and checked.
type parsedScript struct {
	script     Script
	directives directives
	problems   []Problem
	readErr    error
}

// readScripts reads and parses the named files of dir concurrently; the
// result is in the order of names. Opening a file costs far more than
// hashing a small one, and a folder of 10000 migrations is 20000 files:
// `status` spends most of its time here, and the reads overlap well even on
// two cores. Workers take batches by an atomic counter rather than one file
// per channel send: with a channel, waking goroutines cost as much as the
// reads.
func readScripts(fsys fs.FS, dir string, names []string) []parsedScript {
	out := make([]parsedScript, len(names))
	fast := openDirReader(fsys, dir)
	defer fast.close()
	const batch = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min((len(names)+batch-1)/batch, 2*runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, smallScript)
			for {
				start := int(next.Add(batch)) - batch
				if start >= len(names) {
					return
				}
				for i := start; i < min(start+batch, len(names)); i++ {
					p := &out[i]
					p.readErr = readScript(fsys, fast, dir, names[i], p, buf)
				}
			}
		}()
	}
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

// ReadLink and Lstat pass through to the folder, so that a broken
// symbolic link can be named as one.
func (d diskFS) ReadLink(name string) (string, error) { return fs.ReadLink(d.FS, name) }

func (d diskFS) Lstat(name string) (fs.FileInfo, error) { return fs.Lstat(d.FS, name) }

// Stat passes through too: without it fs.Stat opens the file, and opening
// a named pipe waits for a writer.
func (d diskFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(d.FS, name) }

// readScript reads one file into p; a large one is only streamed through.
// buf is the worker's scratch space for small files; fast, when not nil,
// reads them straight from the folder on disk.
func readScript(fsys fs.FS, fast *dirReader, dir, name string, p *parsedScript, buf []byte) error {
	if fast != nil {
		if n, fits := fast.readSmall(name, buf); fits && int64(n) <= largeScript {
			// parseScript copies what it keeps, so buf can be reused.
			p.script, p.directives, p.problems = parseScript(name, buf[:n])
			return nil
		}
	}
	file := path.Join(dir, name)
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
