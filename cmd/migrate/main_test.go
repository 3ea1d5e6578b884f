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
		args, err := normaliseArgs(app, strings.Fields(c.in))
		if got := strings.Join(args, " "); err != nil || got != c.want {
			t.Errorf("%q: got %q (%v), want %q", c.in, args, err, c.want)
		}
	}
	if args, err := normaliseArgs(app, []string{"migrate"}); err != nil || !slices.Equal(args, []string{"migrate"}) {
		t.Error("bare command changed")
	}
	// Moved before the command, a flag without its value would take the
	// command as its value.
	for _, in := range []string{"migrate up --dir", "migrate status --database", "migrate lint --dialect", "migrate up 2 --lock-timeout"} {
		if args, err := normaliseArgs(app, strings.Fields(in)); err == nil || !strings.Contains(err.Error(), "needs a value") {
			t.Errorf("%q: got %q, %v; want an error saying the flag needs a value", in, args, err)
		}
	}
}
