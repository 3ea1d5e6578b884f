package migrator

import (
	"strings"
	"testing"
)

// The DROP to copy names the index as the server reads it; the match
// against a script finds the name as a word, REINDEX's _ccnew included.
func TestInvalidIndexNoteAndMatch(t *testing.T) {
	note := invalidIndexNote("it", []InvalidIndex{{Schema: "public", Name: "Orders_Idx", Table: "orders"}, {Schema: "app", Name: "t_v_idx", Table: "t"}})
	if !strings.Contains(note, `DROP INDEX CONCURRENTLY public."Orders_Idx"; DROP INDEX CONCURRENTLY app.t_v_idx;`) {
		t.Fatalf("note: %s", note)
	}
	mig := &Migration{Up: Script{SQL: "CREATE INDEX CONCURRENTLY t_v_idx ON t (v);\nREINDEX INDEX CONCURRENTLY big_idx;"}}
	all := []InvalidIndex{{Name: "t_v_idx"}, {Name: "t_v_idx2"}, {Name: "big_idx_ccnew"}, {Name: "v_idx"}}
	var got []string
	for _, ix := range namedBy(mig, all) {
		got = append(got, ix.Name)
	}
	if strings.Join(got, " ") != "t_v_idx big_idx_ccnew" {
		t.Fatalf("named by the script: %v, want t_v_idx big_idx_ccnew", got)
	}
}
