//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConfigPipeWithoutWriter: a --config that is a named pipe nothing
// writes to blocked the open itself, where Ctrl-C and SIGTERM, which the
// run catches, could not reach it: migrate hung until killed with -9.
func TestConfigPipeWithoutWriter(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "migrate.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A writer lets the read still blocked in the open finish.
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var stdout, stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"migrate", "--config", fifo, "--env", "dev", "status"}, &stdout, &stderr)
	}()
	select {
	case code := <-done:
		if code != exitInterrupted || !strings.Contains(stderr.String(), fifo) || !strings.Contains(stderr.String(), "named pipe") {
			t.Errorf("exit %d, want %d naming the file as a pipe; stderr: %s", code, exitInterrupted, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("migrate was still reading the pipe 5s after it was interrupted")
	}
}

// TestOutputLostIsSaid: `migrate status --json > report.json` on a full
// disk exited 0 with an empty file and not a word; a reader that went away
// (EPIPE, `migrate up | head -1`) stays silent, as README says.
func TestOutputLostIsSaid(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		w    error
		want string
	}{{syscall.ENOSPC, "no space left on device"}, {syscall.EPIPE, ""}} {
		var stderr strings.Builder
		argv := []string{"migrate", "--dir", dir, "--database", "sqlite:" + filepath.Join(dir, "x.db"), "status", "--json"}
		code := run(context.Background(), argv, failingWriter{c.w}, &stderr)
		if code != exitOK {
			t.Errorf("%v: exit %d, want %d (the command itself succeeded); stderr: %s", c.w, code, exitOK, stderr.String())
		}
		said := strings.Contains(stderr.String(), "standard output")
		if c.want == "" && said || c.want != "" && (!said || !strings.Contains(stderr.String(), c.want)) {
			t.Errorf("%v: stderr %q, want it to say %q", c.w, stderr.String(), c.want)
		}
	}
}

// failingWriter refuses every write with err.
type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }
