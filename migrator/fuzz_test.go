package migrator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds Load a folder described by one input: NUL-separated
// name, content, name, content, ... It checks that Load never panics, that
// every problem names a file of the folder (and a line inside it), and that
// a folder it accepts is ordered, complete and checksummed.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"0001_a.up.sql\x00CREATE TABLE a (id INT);\n\x000001_a.down.sql\x00DROP TABLE a;\n",
		"1_a.up.sql\x00-- migrate:irreversible\nDROP TABLE x;\n",
		"2_b.up.sql\x00-- migrate:no-transaction\r\nCREATE INDEX CONCURRENTLY i ON a (id);\r\n\x002_b.down.sql\x00\xef\xbb\xbfDROP INDEX i;",
		"3_c.up.sql\x00\x003_c.down.sql\x00-- nothing\n",
		"4_d.up.sql\x00-- migrate:bogus\n\x004_d.down.sql\x00ok \xff\xfe\n",
		"5_e.up.sql\x00x\x005_f.up.sql\x00y\x0005_e.up.sql\x00z",
		"6_g.down.sql\x00x",
		"99999999999999999999_big.up.sql\x00x\x000_zero.up.sql\x00x\x00-1_neg.up.sql\x00x",
		"7 bad name.up.sql\x00x\x00README.md\x00hello\x00.hidden.sql\x00x\x00notes.SQL\x00x",
		"8_h.up.sql\x00-- migrate:irreversible\n\x008_h.down.sql\x00-- migrate:irreversible\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, folder []byte) {
		parts := bytes.Split(folder, []byte{0})
		fsys := fstest.MapFS{}
		for i := 0; i+1 < len(parts); i += 2 {
			name := string(parts[i])
			if !fsNameOK(name) {
				continue
			}
			fsys[name] = &fstest.MapFile{Data: parts[i+1], Mode: 0o644}
		}
		src, err := Load(fsys, ".")
		if err != nil {
			var se *SourceError
			if !errors.As(err, &se) {
				t.Fatalf("Load error is %T, not a *SourceError: %v", err, err)
			}
			if len(se.Problems) == 0 {
				t.Fatalf("SourceError with no problems")
			}
			for _, p := range se.Problems {
				file, ok := fsys[p.File]
				if !ok {
					t.Fatalf("problem names %q, which is not in the folder: %v", p.File, p)
				}
				if lines := bytes.Count(file.Data, []byte("\n")) + 1; p.Line < 0 || p.Line > lines {
					t.Fatalf("problem line %d outside %s (%d lines): %v", p.Line, p.File, lines, p)
				}
				if p.Msg == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		var prev int64
		for _, m := range src.Migrations {
			if m.Version <= prev {
				t.Fatalf("versions out of order or repeated: %d after %d", m.Version, prev)
			}
			prev = m.Version
			if src.Find(m.Version) != m {
				t.Fatalf("Find(%d) does not return the migration", m.Version)
			}
			if (m.Down == nil) != m.Irreversible {
				t.Fatalf("version %d: down script present = %v but irreversible = %v", m.Version, m.Down != nil, m.Irreversible)
			}
			scripts := []*Script{&m.Up}
			if m.Down != nil {
				scripts = append(scripts, m.Down)
			}
			for _, s := range scripts {
				file, ok := fsys[s.Path]
				if !ok {
					t.Fatalf("script path %q is not a file of the folder", s.Path)
				}
				sum := sha256.Sum256(file.Data)
				if s.Checksum != hex.EncodeToString(sum[:]) {
					t.Fatalf("%s: checksum is not the SHA-256 of the file", s.Path)
				}
				if want := strings.TrimPrefix(string(file.Data), "\ufeff"); s.SQL != want {
					t.Fatalf("%s: SQL %q, want the file without its byte-order mark %q", s.Path, s.SQL, want)
				}
			}
		}
		for name := range fsys {
			m := fileNameRE.FindStringSubmatch(name)
			version, label, direction, ok := parseFileName(name)
			if ok != (m != nil) || ok && (version != m[1] || label != m[2] || direction != m[3]) {
				t.Fatalf("parseFileName(%q) = %q, %q, %q, %v; the documented pattern gives %q", name, version, label, direction, ok, m)
			}
			if ok && !strings.HasPrefix(name, ".") {
				if !loaded(src, name) {
					t.Fatalf("%s was accepted but is in no migration", name)
				}
			}
		}
	})
}

// fileNameRE is the file name pattern the README documents, which
// parseFileName implements by hand.
var fileNameRE = regexp.MustCompile(`^([0-9]+)_([A-Za-z0-9][A-Za-z0-9_\-]*)\.(up|down)\.sql$`)

// fsNameOK keeps names that MapFS can hold as a file in its root folder.
func fsNameOK(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\") && !strings.Contains(name, "\x00")
}

func loaded(src *Source, name string) bool {
	for _, m := range src.Migrations {
		if m.Up.Path == name || m.Down != nil && m.Down.Path == name {
			return true
		}
	}
	return false
}
