package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestNormaliseArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	cases := []struct{ in, want string }{
		{"migrate repair 3 --applied", "migrate repair --applied 3"},
		{"migrate up --database sqlite:x.db 2", "migrate --database sqlite:x.db up 2"},
		{"migrate --dir m up --single-transaction", "migrate --dir m up --single-transaction"},
		{"migrate down -1", "migrate down -1"},
		{"migrate status --json --lock-timeout=1s", "migrate --json --lock-timeout=1s status"},
		{"migrate nosuch --json", "migrate nosuch --json"},
	}
	for _, c := range cases {
		got := strings.Join(normaliseArgs(app, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
	if !slices.Equal(normaliseArgs(app, []string{"migrate"}), []string{"migrate"}) {
		t.Error("bare command changed")
	}
}
