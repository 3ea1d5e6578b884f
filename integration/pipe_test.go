package integration

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// TestClosedOutputDoesNotStopUp: the reader of migrate's output going away
// (`migrate up | head -1`) used to kill the run with SIGPIPE after the
// first lines, leaving later migrations pending with nothing said.
func TestClosedOutputDoesNotStopUp(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		files := map[string]string{}
		const n = 40
		for v := 1; v <= n; v++ {
			files[fmt.Sprintf("%04d_t%d.up.sql", v, v)] = fmt.Sprintf("CREATE TABLE pipe_t%d (id INTEGER);\n", v)
			files[fmt.Sprintf("%04d_t%d.down.sql", v, v)] = fmt.Sprintf("DROP TABLE pipe_t%d;\n", v)
		}
		e := newEnv(t, tg, writeFiles(t, files))
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close() // no reader: the first write to stdout breaks the pipe
		cmd := exec.Command(migrateBin, "--database", e.url, "--dir", e.dir, "up")
		cmd.Stdout = w
		out, err := os.CreateTemp(t.TempDir(), "stderr")
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = out
		runErr := cmd.Run()
		w.Close()
		if runErr != nil {
			msg, _ := os.ReadFile(out.Name())
			t.Fatalf("up with a closed stdout: %v\nstderr: %s", runErr, msg)
		}
		if got := e.current(); got != n {
			t.Fatalf("up with a closed stdout stopped at version %d of %d", got, n)
		}
	})
}
