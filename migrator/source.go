package migrator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Direction says which way a history entry moved the schema. It is a named
// type, not a bool, because history also records baselines and repairs.
type Direction string

// Directions recorded in history.
const (
	Up       Direction = "up"
	Down     Direction = "down"
	Baseline Direction = "baseline"
	Repair   Direction = "repair"
)

// Script is one side (up or down) of a migration as read from its file.
type Script struct {
	// Path is the file's path inside the source, for messages.
	Path string
	// SQL is the file's text with a leading UTF-8 byte-order mark removed.
	// It is empty for a script too large to hold in memory (see Large).
	SQL string
	// Checksum is the hex SHA-256 of the file's bytes as stored.
	Checksum string
	// NoTransaction is set by the "-- migrate:no-transaction" directive.
	NoTransaction bool

	// large, for a script above largeScript bytes, reads it again.
	large *largeSource
}

// Large reports whether the script is too large to hold in memory: its SQL
// is empty and its statements are read from the file as they run.
func (s *Script) Large() bool { return s.large != nil }

// Text returns the script's text, reading a large script whole; for
// commands (lint, revert) that need all of it at once.
func (s *Script) Text() (string, error) {
	if s.large == nil {
		return s.SQL, nil
	}
	raw, err := fs.ReadFile(s.large.fsys, s.large.file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.Path, err)
	}
	return string(bytes.TrimPrefix(raw, []byte(bom))), nil
}

// Migration is one version with its scripts.
type Migration struct {
	Version int64
	Name    string
	Up      Script
	// Down is nil when the migration is irreversible.
	Down *Script
	// Irreversible is set by "-- migrate:irreversible" in the up script.
	Irreversible bool
}

// Source is a validated, version-ordered set of migrations.
type Source struct {
	Migrations []*Migration
	byVersion  map[int64]*Migration
	// downUnread is set for a source loaded with SkipDownScripts: its down
	// scripts hold a path and nothing else.
	downUnread bool
}

// LoadOptions change what Load reads.
type LoadOptions struct {
	// SkipDownScripts lists the down scripts without reading them. Status
	// and validate need no more: they compare the up scripts' checksums
	// with the database, and a folder of 10000 migrations is then 10000
	// files to open instead of 20000. Problems inside a down script (not
	// UTF-8, an unknown directive) go unreported; a missing or orphaned down
	// script is still reported. A source loaded this way can only be
	// compared with the database: the engine refuses to run, lint, verify
	// or revert with it (ErrDownScriptsNotRead).
	SkipDownScripts bool
	// DirHint says, in messages about the folder itself (missing, not a
	// folder), how to name another one; "" says to set --dir or
	// MIGRATE_DIR.
	DirHint string
}

func (o LoadOptions) dirHint() string {
	if o.DirHint != "" {
		return o.DirHint
	}
	return "set --dir or MIGRATE_DIR"
}

// ErrDownScriptsNotRead is returned for a command that needs down scripts
// when the source was loaded with SkipDownScripts.
var ErrDownScriptsNotRead = errors.New("the migration folder was loaded without its down scripts (LoadOptions.SkipDownScripts), which only status and validate allow")

// Find returns the migration with version v, or nil.
func (s *Source) Find(v int64) *Migration { return s.byVersion[v] }

// Problem is one thing wrong with a migration folder.
type Problem struct {
	File string
	Line int // 0 when the problem is the file as a whole
	Msg  string
}

func (p Problem) String() string {
	file := p.File
	if strings.IndexFunc(file, unicode.IsControl) >= 0 || !utf8.ValidString(file) {
		// A line feed or an escape sequence in a file name would break
		// the message, or paint the terminal: show it escaped.
		file = strconv.Quote(file)
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", file, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", file, p.Msg)
}

// SourceError lists every problem found in a migration folder. Nothing is
// run when a folder has one.
type SourceError struct {
	Dir      string
	Problems []Problem
}

func (e *SourceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "migrations in %s are not valid (%d problem", e.Dir, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("); nothing was run:")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// parseFileName splits VERSION_NAME.up.sql or VERSION_NAME.down.sql, where
// VERSION is digits and NAME starts with an ASCII letter or digit followed
// by ASCII letters, digits, '_' or '-'. Written out rather than a regular expression:
// a folder of 10000 migrations has 20000 names, and `status` should not
// spend its time matching them.
func parseFileName(name string) (version, label, direction string, ok bool) {
	rest, found := strings.CutSuffix(name, ".sql")
	if !found {
		return "", "", "", false
	}
	if rest, found = strings.CutSuffix(rest, ".up"); found {
		direction = "up"
	} else if rest, found = strings.CutSuffix(rest, ".down"); found {
		direction = "down"
	} else {
		return "", "", "", false
	}
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 || digits+1 >= len(rest) || rest[digits] != '_' {
		return "", "", "", false
	}
	label = rest[digits+1:]
	for i := 0; i < len(label); i++ {
		c := label[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && (i == 0 || c != '_' && c != '-') {
			return "", "", "", false
		}
	}
	return rest[:digits], label, direction, true
}

// directiveRE matches "-- migrate:word" comment lines.
var directiveRE = regexp.MustCompile(`^\s*--\s*migrate:(\S*)`)

// ShellHint explains a path that was not found and starts with "~" or
// names a variable ($HOME/m, ${APP}/m): the shell expands them, but not
// inside single quotes or in a value read from a file (migrate.yaml, an
// env file), and migrate does not.
func ShellHint(p string) string {
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		return "; a leading ~ is expanded by the shell, not by migrate (not inside quotes, nor in a value read from a file): write the full path or $HOME"
	case shellVarRE.MatchString(p):
		return "; migrate does not expand $VARIABLES in a path (the shell does, but not inside single quotes, nor in a value read from a file): write the path itself"
	}
	return ""
}

var shellVarRE = regexp.MustCompile(`\$(\{[A-Za-z_]|[A-Za-z_])`)

// LoadDir reads migrations from a directory on disk.
func LoadDir(dir string) (*Source, error) { return LoadDirWith(dir, LoadOptions{}) }

// LoadDirWith is LoadDir with options.
func LoadDirWith(dir string, opts LoadOptions) (*Source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if target, lerr := os.Readlink(dir); lerr == nil {
				return nil, fmt.Errorf("migration directory %s is a symbolic link to %s, which does not exist (%s)", dir, target, opts.dirHint())
			}
			return nil, fmt.Errorf("migration directory %s does not exist (%s)%s", dir, opts.dirHint(), ShellHint(dir))
		}
		return nil, fmt.Errorf("migration directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("migration directory %s is not a directory (%s to the folder holding the migrations)", dir, opts.dirHint())
	}
	src, err := LoadWith(diskFS{FS: os.DirFS(dir), root: dir}, ".", opts)
	var (
		se *SourceError
		pe *fs.PathError
	)
	if !errors.As(err, &se) && errors.As(err, &pe) && pe.Path == "." {
		// The folder itself could not be listed: name it as the user
		// typed it, not as "." inside it.
		err = fmt.Errorf("reading migration directory %s: %w", dir, pe.Err)
		if errors.Is(pe.Err, fs.ErrPermission) {
			err = fmt.Errorf("%w; run migrate as a user who may read it, or pass another --dir", err)
		}
		return nil, err
	}
	if errors.As(err, &se) {
		se.Dir = dir
		for i := range se.Problems {
			se.Problems[i].File = filepath.Join(dir, se.Problems[i].File)
		}
	}
	if src != nil {
		// Messages name files as the user typed the folder.
		for _, m := range src.Migrations {
			m.Up.Path = filepath.Join(dir, m.Up.Path)
			if m.Down != nil {
				m.Down.Path = filepath.Join(dir, m.Down.Path)
			}
		}
	}
	return src, err
}

// Load reads migrations from dir inside fsys, so an embed.FS works as well as
// a directory. Files that do not end in ".sql" are ignored; a ".sql" file
// whose name does not parse is an error, since it is probably a typo.
func Load(fsys fs.FS, dir string) (*Source, error) { return LoadWith(fsys, dir, LoadOptions{}) }

// LoadWith is Load with options.
func LoadWith(fsys fs.FS, dir string, opts LoadOptions) (*Source, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading migration directory %s: %w", dir, err)
	}
	var problems []Problem
	type migrationFile struct {
		name, label, direction string
		version                int64
	}
	type versionSide struct {
		version   int64
		direction string
	}
	// Sized up front: growing them was most of this loop's time on 10000
	// migrations, as fresh memory costs a page fault per page.
	files := make([]migrationFile, 0, len(entries))
	names := make([]string, 0, len(entries))
	firstFile := make(map[versionSide]string, len(entries)) // for duplicate messages
	special := map[int64]bool{}                             // versions with a file that is not a regular one
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(strings.ToLower(name), ".sql") {
			// "0002_b.up.sql " (a space typed into a rename) does not end
			// in .sql: skipped, the migration never ran, without a word.
			if trimmed := strings.TrimRightFunc(name, unicode.IsSpace); trimmed != name && !strings.HasPrefix(name, ".") && strings.HasSuffix(strings.ToLower(trimmed), ".sql") {
				problems = append(problems, Problem{File: name, Msg: fmt.Sprintf("file name %q ends in white space after .sql, so it would be skipped as not a migration; rename it %q", name, trimmed)})
			}
			continue
		}
		digits, label, direction, ok := parseFileName(name)
		if e.IsDir() {
			// Folders are not searched: one named like a migration is
			// reported rather than silently skipped.
			if ok {
				problems = append(problems, Problem{File: name, Msg: "is a folder, not a migration file (migrations are read from the folder itself, not its subfolders)"})
			}
			continue
		}
		if !ok {
			msg := "file name must look like VERSION_NAME.up.sql or VERSION_NAME.down.sql (VERSION digits, NAME ASCII letters, digits, _ or -, starting with a letter or digit)"
			if i := strings.IndexFunc(name, func(r rune) bool { return r >= utf8.RuneSelf || unicode.IsControl(r) }); i >= 0 {
				// An accented letter, or a look-alike (Cyrillic "у" in
				// ".up.sql"), which the reader cannot see is wrong; or a
				// byte that is not text at all.
				switch r, size := utf8.DecodeRuneInString(name[i:]); {
				case r == utf8.RuneError && size <= 1:
					msg += fmt.Sprintf(": byte 0x%02X is not UTF-8 text", name[i])
				case unicode.IsControl(r):
					msg += fmt.Sprintf(": it holds the control character %U", r)
				default:
					msg += fmt.Sprintf(": \"%c\" (%U) is not ASCII", r, r)
				}
			}
			problems = append(problems, Problem{File: name, Msg: msg})
			continue
		}
		version, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || version <= 0 {
			problems = append(problems, Problem{File: name, Msg: fmt.Sprintf("version %s must be a positive integer below 2^63", digits)})
			continue
		}
		if !e.Type().IsRegular() {
			// A named pipe, socket or device would block the read (a FIFO
			// waits for a writer forever) or yield no script: name it.
			// A symbolic link is followed to what it leads to.
			what := e.Type()
			if what&fs.ModeSymlink != 0 {
				info, err := fs.Stat(fsys, path.Join(dir, name))
				switch {
				case err != nil:
					what = 0 // the read reports the broken link
				case info.IsDir():
					// Read, it failed with "read NAME: is a directory".
					target, _ := fs.ReadLink(fsys, path.Join(dir, name))
					problems = append(problems, Problem{File: name, Msg: fmt.Sprintf("is a symbolic link to %s, a folder, not a migration file (migrations are read from the folder itself, not its subfolders)", target)})
					special[version] = true
					continue
				default:
					what = info.Mode().Type()
				}
			}
			if kind := SpecialFileKind(what); kind != "" {
				problems = append(problems, Problem{File: name, Msg: fmt.Sprintf("is %s, not a regular file: a migration must be a file holding its script", kind)})
				// Its partner is not an orphan: the pair checks skip it.
				special[version] = true
				continue
			}
		}
		key := versionSide{version, direction}
		if other, dup := firstFile[key]; dup {
			problems = append(problems, Problem{File: name, Msg: fmt.Sprintf("duplicate version %d: %s has the same version and direction", version, other)})
			continue
		}
		firstFile[key] = name
		files = append(files, migrationFile{name, label, direction, version})
		if direction == "up" || !opts.SkipDownScripts {
			names = append(names, name)
		}
	}
	parsed := readScripts(fsys, dir, names)
	byVersion := make(map[int64]*Migration, len(files)/2+1)
	unreadable := special
	read := 0
	for _, f := range files {
		name, version := f.name, f.version
		p := &parsedScript{script: Script{Path: name}}
		if read < len(names) && names[read] == name {
			p = &parsed[read]
			read++
		}
		if p.readErr != nil {
			msg := fmt.Sprintf("cannot read: %v", p.readErr)
			target, lerr := fs.ReadLink(fsys, path.Join(dir, name))
			switch {
			case lerr == nil && errors.Is(p.readErr, fs.ErrNotExist):
				msg = fmt.Sprintf("is a symbolic link to %s, which does not exist", target)
			case lerr == nil && errors.Is(p.readErr, syscall.ELOOP):
				// "open NAME: too many levels of symbolic links".
				msg = fmt.Sprintf("is a symbolic link to %s that leads back to itself (a loop of links)", target)
			case errors.Is(p.readErr, fs.ErrNotExist):
				// Deleted or renamed after the listing: "open NAME: no
				// such file or directory" read as if it had never been.
				msg = "was listed in the folder but is gone (deleted or renamed while migrate read the folder?); run again"
			}
			problems = append(problems, Problem{File: name, Msg: msg})
			// Its partner is not an orphan: the pair checks skip this version.
			unreadable[version] = true
			continue
		}
		script, directives := p.script, p.directives
		problems = append(problems, p.problems...)
		mig := byVersion[version]
		if mig == nil {
			mig = &Migration{Version: version, Name: f.label}
			byVersion[version] = mig
		} else if mig.Name != f.label {
			problems = append(problems, Problem{File: name, Msg: fmt.Sprintf("duplicate version %d with a different name (%q and %q)", version, mig.Name, f.label)})
			continue
		}
		if f.direction == "up" {
			mig.Up = script
			mig.Irreversible = directives.irreversible
		} else {
			s := script
			mig.Down = &s
			if directives.irreversible {
				problems = append(problems, Problem{File: name, Msg: "the irreversible directive belongs in the up script"})
			}
		}
	}
	src := &Source{byVersion: byVersion, downUnread: opts.SkipDownScripts}
	for _, mig := range byVersion {
		switch {
		case unreadable[mig.Version]:
		case mig.Up.Path == "":
			problems = append(problems, Problem{File: mig.Down.Path, Msg: "down script without an up script"})
		case mig.Down == nil && !mig.Irreversible:
			// "On a line of its own": after a statement, it is not read.
			msg := fmt.Sprintf("no down script: add %s, or mark the up script with \"-- migrate:irreversible\" on a line of its own", strings.TrimSuffix(path.Base(mig.Up.Path), ".up.sql")+".down.sql")
			if cut := cutRevert(mig); cut != "" {
				msg = "no down script: " + cut
			}
			problems = append(problems, Problem{File: mig.Up.Path, Msg: msg})
		case mig.Down != nil && mig.Irreversible:
			problems = append(problems, Problem{File: mig.Up.Path, Msg: "marked irreversible but has a down script; remove one of them"})
		}
		src.Migrations = append(src.Migrations, mig)
	}
	if len(problems) > 0 {
		sort.Slice(problems, func(i, j int) bool {
			if problems[i].File != problems[j].File {
				return problems[i].File < problems[j].File
			}
			return problems[i].Line < problems[j].Line
		})
		return nil, &SourceError{Dir: dir, Problems: problems}
	}
	sort.Slice(src.Migrations, func(i, j int) bool { return src.Migrations[i].Version < src.Migrations[j].Version })
	return src, nil
}

// SpecialFileKind names a file type that is neither a regular file nor a
// folder ("a named pipe (FIFO)", "a device"), or returns "" for those.
func SpecialFileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeIrregular != 0:
		return "a file of unknown type"
	}
	return ""
}

// directives are the "-- migrate:" lines a script holds.
type directives struct {
	noTransaction, irreversible bool
}

// set records directive d, reporting false when it is not one of ours.
func (ds *directives) set(d string) bool {
	switch d {
	case "no-transaction":
		ds.noTransaction = true
	case "irreversible":
		ds.irreversible = true
	default:
		return false
	}
	return true
}

func parseScript(name string, raw []byte) (Script, directives, []Problem) {
	sum := sha256.Sum256(raw)
	s := Script{Path: name, Checksum: hex.EncodeToString(sum[:])}
	text := bytes.TrimPrefix(raw, []byte(bom))
	if !utf8.Valid(text) {
		line := 1 + bytes.Count(text[:firstInvalidUTF8(text)], []byte("\n"))
		return s, directives{}, []Problem{{File: name, Line: line, Msg: "not valid UTF-8; save the file as UTF-8"}}
	}
	// Of a NUL, a lone carriage return and an inner byte-order mark, the
	// one on the first line is reported (in that order on one line), as
	// the streaming read of a large script finds them.
	var bad Problem
	for _, c := range []struct {
		at      int
		problem func(file string, line int) Problem
	}{{bytes.IndexByte(text, 0), nulByte}, {loneCR(text), loneCRProblem}, {bytes.Index(text, []byte(bom)), innerBOM}} {
		if c.at < 0 {
			continue
		}
		if line := 1 + bytes.Count(text[:c.at], []byte("\n")); bad.Line == 0 || line < bad.Line {
			bad = c.problem(name, line)
		}
	}
	if bad.Line > 0 {
		return s, directives{}, []Problem{bad}
	}
	s.SQL = string(text)
	var ds directives
	var problems []Problem
	// Most scripts have no directive at all: only those that mention one
	// are read line by line.
	if mentionsMigrate(s.SQL) {
		for i, line := range strings.Split(s.SQL, "\n") {
			if p, bad := ds.read(name, i+1, line); bad {
				problems = append(problems, p)
			}
		}
	}
	s.NoTransaction = ds.noTransaction
	return s, ds, problems
}

// read takes the directive the line of file holds, if any, and returns the
// problem with it: an unknown directive, or a known one misspelled.
func (ds *directives) read(file string, line int, text string) (Problem, bool) {
	d, ok := directiveIn(text)
	if ok && ds.set(d) {
		return Problem{}, false
	}
	if p, miss := misspelledDirective(file, line, text); miss {
		return p, true
	}
	if ok {
		return unknownDirective(file, line, d), true
	}
	return Problem{}, false
}

// directiveIn returns the directive a line holds, if it is a directive line.
func directiveIn(line string) (string, bool) {
	m := directiveRE.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return strings.TrimRight(m[1], "\r"), true
}

// misspelledRE matches a comment line that names a known directive but is
// not written the one way directives are read: "-- MIGRATE:NO-TRANSACTION",
// "--- migrate:irreversible", "-- migrate : no-transaction".
var misspelledRE = regexp.MustCompile(`(?i)^\s*-{2,}\s*migrate\s*:\s*(no-transaction|irreversible)\b`)

// misspelledDirective reports a line that misses a directive's spelling: it
// was an ordinary comment, so the script ran in a transaction, or lacked its
// down script, without a word about the directive.
func misspelledDirective(file string, line int, text string) (Problem, bool) {
	m := misspelledRE.FindStringSubmatch(text)
	if m == nil {
		return Problem{}, false
	}
	want := "-- migrate:" + strings.ToLower(m[1])
	return Problem{File: file, Line: line, Msg: fmt.Sprintf("%q is not read as a directive: write %q (lower case, no space around the colon)", strings.TrimSpace(strings.TrimRight(text, "\r")), want)}, true
}

// mentionsMigrate reports whether s holds "migrate" in any case: only such
// scripts can hold a directive, or a misspelled one.
func mentionsMigrate(s string) bool {
	for i := strings.IndexAny(s, "mM"); i >= 0; {
		if len(s)-i >= 7 && strings.EqualFold(s[i:i+7], "migrate") {
			return true
		}
		j := strings.IndexAny(s[i+1:], "mM")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func unknownDirective(file string, line int, d string) Problem {
	return Problem{File: file, Line: line, Msg: fmt.Sprintf("unknown directive %q (known: migrate:no-transaction, migrate:irreversible)", "migrate:"+d)}
}

// nulByte reports a NUL byte, which is valid UTF-8 but never SQL text:
// SQLite ends a statement at it, silently dropping the rest of the script,
// and PostgreSQL and MySQL refuse it part-way through a migration. It is
// usually a file saved as UTF-16, or a binary file.
func nulByte(file string, line int) Problem {
	return Problem{File: file, Line: line, Msg: "contains a NUL byte, which SQL text cannot hold (a file saved as UTF-16?); save the file as UTF-8"}
}

// loneCR returns the index of the first carriage return not followed by a
// line feed, or -1.
func loneCR(b []byte) int {
	for i := bytes.IndexByte(b, '\r'); i >= 0; {
		if i+1 == len(b) || b[i+1] != '\n' {
			return i
		}
		j := bytes.IndexByte(b[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return -1
}

// loneCRProblem reports a line that ends with a bare carriage return (old
// Mac line ends). SQLite, MySQL and the splitter end a "--" comment at a
// line feed only, so the lines after it would be part of the comment: a
// script starting with a comment line would be recorded as applied with
// nothing run.
func loneCRProblem(file string, line int) Problem {
	return Problem{File: file, Line: line, Msg: "has a carriage return without a line feed (old Mac line ends), which would turn the lines after a -- comment into part of it; save the file with LF or CRLF line ends"}
}

// innerBOM reports a byte-order mark after the start of the file, which
// joining files leaves behind. SQLite skips it, but PostgreSQL and MySQL
// read it as part of the next word and fail on an error that shows nothing
// wrong; on MySQL, after the statements before it took effect.
func innerBOM(file string, line int) Problem {
	return Problem{File: file, Line: line, Msg: "has a byte-order mark (U+FEFF) after the start of the file, usually left by joining files; remove it (inside a string, write it as an escape)"}
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// cutRevert explains an up script without its down that `migrate revert`
// left when it was killed between writing the two files (or before the up
// script's text was written), or returns "".
func cutRevert(mig *Migration) string {
	if !strings.HasPrefix(mig.Name, "revert_") {
		return ""
	}
	var v int64
	if _, err := fmt.Sscanf(mig.Up.SQL, "-- Reverts version %d ", &v); err == nil {
		return fmt.Sprintf("it is what a `migrate revert %d` cut short left behind (it writes the up script, then the down script); delete it and run `migrate revert %d` again", v, v)
	}
	if mig.Up.SQL == "" && mig.Up.large == nil {
		return "it is empty, as a `migrate revert` cut short leaves it (it writes the up script, then the down script); delete it and run the revert again"
	}
	return ""
}
