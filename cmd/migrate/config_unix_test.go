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
