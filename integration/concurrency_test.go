package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/migrate-dev/migrate/migrator"
)

// TestThirtyTwoConcurrentUps starts 32 `migrate up` processes at once on
// one database and a 200-migration folder: every process must succeed and
// every migration must be applied exactly once.
func TestThirtyTwoConcurrentUps(t *testing.T) {
	const procs = 32
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFaultSet(t))
		outs, codes := e.concurrentUps(procs, "3m")
		appliers := 0
		for i := range procs {
			if codes[i] != 0 {
				t.Fatalf("process %d exited %d:\n%s", i, codes[i], outs[i])
			}
			if !strings.Contains(outs[i], "nothing to do") {
				appliers++
			}
		}
		ups := map[int64]int{}
		for _, h := range e.history() {
			if h.Direction != migrator.Up || !h.Success {
				t.Fatalf("unexpected history row %+v", h)
			}
			ups[h.Version]++
		}
		for v := int64(1); v <= faultMigrations; v++ {
			if ups[v] != 1 {
				t.Fatalf("version %d applied %d times, want exactly once", v, ups[v])
			}
		}
		if got := e.checkFaultInvariants(); got != faultMigrations {
			t.Fatalf("%d of %d applied", got, faultMigrations)
		}
		t.Logf("%d processes: %d applied migrations, %d found nothing to do (the lock serialised them)", procs, appliers, procs-appliers)
	})
}

// holderDescriptions are what a lock waiter must say about a holder that
// is this test process, per driver (TestLockTimeoutNamesHolder).
var holderDescriptions = map[string]func() []string{
	"sqlite": func() []string {
		host, _ := os.Hostname()
		return []string{fmt.Sprintf("pid %d on %s", os.Getpid(), host), ".migrate-lock"}
	},
	"postgres": func() []string { return []string{"PostgreSQL backend pid", `application "migrate"`} },
}
