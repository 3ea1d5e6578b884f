package migrator

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

// Severity says whether a lint finding fails CI.
type Severity string

// Severities of lint findings.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Lint rule names, as printed and as named in "-- lint:ignore RULE".
const (
	RuleDropTable        = "drop-table"
	RuleDropColumn       = "drop-column"
	RuleDropSchema       = "drop-schema"
	RuleTruncate         = "truncate"
	RuleDeleteNoWhere    = "delete-without-where"
	RuleUpdateNoWhere    = "update-without-where"
	RuleColumnTypeChange = "column-type-change"
	RuleRename           = "rename"
	RuleUpWithoutDown    = "up-without-down"
	RuleEmptyDown        = "empty-down"
	RuleNonTransactional = "non-transactional-statement-in-transaction"
	RuleSyntax           = "syntax"
)

// destructiveRules destroy rows when they run.
var destructiveRules = map[string]bool{
	RuleDropTable: true, RuleDropColumn: true, RuleDropSchema: true, RuleTruncate: true, RuleDeleteNoWhere: true,
}

// Finding is one thing lint found in a script.
type Finding struct {
	File      string    `json:"file"`
	Line      int       `json:"line"`
	Version   int64     `json:"version"`
	Direction Direction `json:"direction"`
	Rule      string    `json:"rule"`
	Severity  Severity  `json:"severity"`
	Message   string    `json:"message"`
	// Destructive findings lose data when the script runs.
	Destructive bool `json:"destructive"`
	// Table and Column name what is affected, as written in the script
	// (possibly qualified and quoted).
	Table  string `json:"table,omitempty"`
	Column string `json:"column,omitempty"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s: %s", f.File, f.Line, f.Severity, f.Rule, f.Message)
}

// Lint checks every script of src for statements that lose data, break the
// previous application version during a rollout, or cannot run where they
// are. It needs no database: d supplies the splitting and quoting rules.
//
// Destructive statements are errors in up scripts (they destroy data on
// deploy) and warnings in down scripts, where removing what the up added is
// the point; `down` itself refuses them without AllowDataLoss. A comment
// "-- lint:ignore RULE[,RULE]" just before a statement silences those rules
// for it.
func Lint(src *Source, d Dialect) []Finding {
	if src.downUnread {
		// A programming error, not bad input: findings without the down
		// scripts would look complete and be wrong.
		panic(ErrDownScriptsNotRead)
	}
	var out []Finding
	for _, mig := range src.Migrations {
		up, upStatements := lintScript(mig, &mig.Up, Up, d, true)
		out = append(out, up...)
		if mig.Down == nil {
			out = append(out, Finding{
				File: mig.Up.Path, Line: directiveLine(mig.Up.SQL, "irreversible"), Version: mig.Version, Direction: Up,
				Rule: RuleUpWithoutDown, Severity: SeverityWarning,
				Message: fmt.Sprintf("version %d is marked irreversible: it can never be rolled back, only undone by a new migration", mig.Version),
			})
			continue
		}
		down, downStatements := lintScript(mig, mig.Down, Down, d, true)
		for _, f := range down {
			if f.Destructive {
				f.Message += " (down refuses to run it without --allow-data-loss)"
			}
			out = append(out, f)
		}
		if upStatements > 0 && downStatements == 0 && !ignored(mig.Down.SQL, RuleEmptyDown) {
			out = append(out, Finding{
				File: mig.Down.Path, Line: 1, Version: mig.Version, Direction: Down,
				Rule: RuleEmptyDown, Severity: SeverityWarning,
				Message: "the down script is empty but the up script is not: rolling back would mark the version undone while its changes stay",
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func directiveLine(sql, name string) int {
	for i, line := range strings.Split(sql, "\n") {
		if m := directiveRE.FindStringSubmatch(line); m != nil && strings.TrimRight(m[1], "\r") == name {
			return i + 1
		}
	}
	return 1
}

// lintScript returns the script's findings and how many statements it has.
func lintScript(mig *Migration, script *Script, dir Direction, d Dialect, honourIgnores bool) ([]Finding, int) {
	if script.Large() {
		// Lint reads token by token with offsets into the text, so a large
		// script is read whole here; only running it streams.
		text, err := script.Text()
		if err != nil {
			return []Finding{{File: script.Path, Line: 1, Version: mig.Version, Direction: dir, Rule: RuleSyntax, Severity: SeverityError, Message: err.Error()}}, 0
		}
		whole := *script
		whole.SQL, whole.large = text, nil
		script = &whole
	}
	stmts, err := d.Split(script.SQL)
	if err != nil {
		line := 1
		var se *sqlsplit.SyntaxError
		if errors.As(err, &se) {
			line = se.Line
		}
		return []Finding{{File: script.Path, Line: line, Version: mig.Version, Direction: dir, Rule: RuleSyntax, Severity: SeverityError, Message: err.Error()}}, 0
	}
	l := &linter{d: d, script: script}
	prevEnd := 0
	for _, st := range stmts {
		from := len(l.found)
		for _, sub := range subStatements(scanTokens(script.SQL, st.Start, st.End, d.Lex), d) {
			l.statement(sub)
		}
		gap := script.SQL[prevEnd:st.Start]
		kept := l.found[:from]
		for _, f := range l.found[from:] {
			if honourIgnores && ignored(gap, f.Rule) {
				continue
			}
			kept = append(kept, f)
		}
		l.found = kept
		prevEnd = st.End
	}
	for i := range l.found {
		f := &l.found[i]
		f.File, f.Version, f.Direction = script.Path, mig.Version, dir
		f.Destructive = destructiveRules[f.Rule]
		if f.Severity == "" {
			f.Severity = SeverityWarning
			if f.Destructive && dir == Up {
				f.Severity = SeverityError
			}
		}
	}
	return l.found, len(stmts)
}

var ignoreRE = regexp.MustCompile(`lint:ignore[ \t]+([A-Za-z\-, \t]+)`)

// ignored reports whether a "lint:ignore" comment in text names rule.
func ignored(text, rule string) bool {
	for _, m := range ignoreRE.FindAllStringSubmatch(text, -1) {
		for _, r := range strings.FieldsFunc(m[1], func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
			if r == rule {
				return true
			}
		}
	}
	return false
}

// subStatements cuts a splitter statement into the statements inside it:
// a SQL Server batch holds several, often without semicolons, and a BEGIN
// ... COMMIT block or a MySQL compound statement keeps its semicolons. The
// body of a routine or trigger is left whole: what it does runs later, not
// during the migration.
func subStatements(toks []token, d Dialect) [][]token {
	var out [][]token
	cur, depth := 0, 0
	routine := false
	for i, t := range toks {
		if i == cur {
			routine = isRoutine(toks[i:])
		}
		switch {
		case t.kind == punctToken && t.text == "(":
			depth++
		case t.kind == punctToken && t.text == ")":
			if depth > 0 {
				depth--
			}
		case routine || depth > 0:
		case t.kind == punctToken && t.text == ";":
			if i > cur {
				out = append(out, toks[cur:i])
			}
			cur = i + 1
		case d.Lex.BatchSeparator != "" && i > cur && startsStatement(toks[cur:i], t):
			out = append(out, toks[cur:i])
			cur = i
			routine = isRoutine(toks[i:])
		}
	}
	if cur < len(toks) {
		out = append(out, toks[cur:])
	}
	return out
}

var statementVerbs = map[string]bool{
	"ALTER": true, "CREATE": true, "DELETE": true, "DROP": true, "EXEC": true, "EXECUTE": true,
	"INSERT": true, "MERGE": true, "TRUNCATE": true, "UPDATE": true,
}

// notAfter are words after which a verb is part of the current statement
// (ON DELETE CASCADE, FOR UPDATE, GRANT DELETE, THEN UPDATE ...).
var notAfter = map[string]bool{
	"ON": true, "FOR": true, "OF": true, "OR": true, "BEFORE": true, "AFTER": true, "INSTEAD": true,
	"GRANT": true, "REVOKE": true, "DENY": true, "THEN": true, "AND": true,
}

// startsStatement decides, where semicolons are optional (T-SQL), whether
// t begins a new statement after cur.
func startsStatement(cur []token, t token) bool {
	w := t.upper()
	if !statementVerbs[w] {
		return false
	}
	prev := cur[len(cur)-1]
	if prev.kind == punctToken && prev.text == "," || notAfter[prev.upper()] {
		return false
	}
	if cur[0].upper() == "ALTER" && (w == "ALTER" || w == "DROP") {
		return false // ALTER TABLE t ALTER COLUMN / DROP COLUMN
	}
	return true
}

// isRoutine reports whether the statement starting at toks creates a
// function, procedure, trigger or event, whose body must not be linted.
func isRoutine(toks []token) bool {
	if len(toks) == 0 || toks[0].upper() != "CREATE" {
		return false
	}
	for _, t := range toks[1:] {
		switch t.upper() {
		case "FUNCTION", "PROCEDURE", "PROC", "TRIGGER", "EVENT", "RULE":
			return true
		case "TABLE", "INDEX", "VIEW", "SCHEMA", "DATABASE", "TYPE", "SEQUENCE":
			return false
		}
		if t.kind == punctToken && (t.text == "(" || t.text == ";") {
			return false
		}
	}
	return false
}

type linter struct {
	d      Dialect
	script *Script
	found  []Finding
}

func (l *linter) add(at token, rule string, sev Severity, table, column, msg string) {
	l.found = append(l.found, Finding{
		Line: sqlsplit.LineOf(l.script.SQL, at.off), Rule: rule, Severity: sev,
		Table: table, Column: column, Message: msg,
	})
}

func word(s []token, i int) string {
	if i < len(s) {
		return s[i].upper()
	}
	return ""
}

// skipWords returns i advanced past any of the given words, in order when
// they follow one another (IF EXISTS, ONLY, COLUMN ...).
func skipWords(s []token, i int, words ...string) int {
	for _, w := range words {
		if word(s, i) == w {
			i++
		}
	}
	return i
}

// name reads a possibly qualified identifier at i and returns it as
// written, with the index after it; "" when there is none.
func name(s []token, i int) (string, int) {
	var b strings.Builder
	for i < len(s) && s[i].isIdent() {
		b.WriteString(s[i].text)
		if i+2 < len(s) && s[i+1].kind == punctToken && s[i+1].text == "." && s[i+2].isIdent() {
			b.WriteString(".")
			i += 2
			continue
		}
		return b.String(), i + 1
	}
	return b.String(), i
}

// names reads a comma-separated list of names, as in DROP TABLE a, b.
func names(s []token, i int) []string {
	var out []string
	for {
		n, next := name(s, i)
		if n == "" {
			return out
		}
		out = append(out, n)
		if next < len(s) && s[next].kind == punctToken && s[next].text == "," {
			i = next + 1
			continue
		}
		return out
	}
}

// topLevel reports whether word w appears outside parentheses in s.
func topLevel(s []token, w string) (token, bool) {
	if i := topLevelIndex(s, 0, w); i >= 0 {
		return s[i], true
	}
	return token{}, false
}

// topLevelIndex is the index of the first of words outside parentheses in
// s, looking from index from on (parentheses before it still count), or -1.
func topLevelIndex(s []token, from int, words ...string) int {
	depth := 0
	for i, t := range s {
		switch {
		case t.kind == punctToken && t.text == "(":
			depth++
		case t.kind == punctToken && t.text == ")":
			depth--
		case depth == 0 && i >= from && slices.Contains(words, t.upper()):
			return i
		}
	}
	return -1
}

// afterOptions is i advanced past a parenthesised option list there, as in
// REINDEX (VERBOSE) SCHEMA s.
func afterOptions(s []token, i int) int {
	if i >= len(s) || s[i].kind != punctToken || s[i].text != "(" {
		return i
	}
	for depth := 0; i < len(s); i++ {
		switch {
		case s[i].kind == punctToken && s[i].text == "(":
			depth++
		case s[i].kind == punctToken && s[i].text == ")":
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return i
}

// clauses cuts s at commas outside parentheses.
func clauses(s []token) [][]token {
	var out [][]token
	depth, cur := 0, 0
	for i, t := range s {
		switch {
		case t.kind == punctToken && t.text == "(":
			depth++
		case t.kind == punctToken && t.text == ")":
			depth--
		case depth == 0 && t.kind == punctToken && t.text == ",":
			out = append(out, s[cur:i])
			cur = i + 1
		}
	}
	return append(out, s[cur:])
}

func (l *linter) statement(s []token) {
	switch s[0].upper() {
	case "DROP":
		l.drop(s)
	case "TRUNCATE":
		i := skipWords(s, 1, "TABLE", "ONLY")
		for _, t := range names(s, i) {
			l.add(s[0], RuleTruncate, "", t, "", fmt.Sprintf("TRUNCATE %s deletes every row of the table", t))
		}
	case "DELETE":
		if _, ok := topLevel(s, "WHERE"); ok {
			return
		}
		i := 1
		if word(s, i) != "FROM" {
			// MySQL "DELETE t FROM t JOIN ..." and T-SQL "DELETE t".
			if _, ok := topLevel(s, "FROM"); ok {
				for i < len(s) && s[i].upper() != "FROM" {
					i++
				}
			}
		}
		t, _ := name(s, skipWords(s, i, "FROM", "ONLY"))
		l.add(s[0], RuleDeleteNoWhere, "", t, "", fmt.Sprintf("DELETE FROM %s has no WHERE: it deletes every row", t))
	case "UPDATE":
		if _, ok := topLevel(s, "WHERE"); ok {
			return
		}
		t, _ := name(s, skipWords(s, 1, "LOW_PRIORITY", "IGNORE", "ONLY"))
		l.add(s[0], RuleUpdateNoWhere, SeverityWarning, t, "", fmt.Sprintf("UPDATE %s has no WHERE: it rewrites every row (right for a backfill; make sure it is meant)", t))
	case "ALTER":
		l.alter(s)
	case "RENAME":
		if word(s, 1) == "TABLE" {
			l.add(s[0], RuleRename, SeverityWarning, "", "", "RENAME TABLE "+renameAdvice)
		}
	case "EXEC", "EXECUTE":
		if n, _ := name(s, 1); strings.HasSuffix(strings.ToLower(n), "sp_rename") {
			l.add(s[0], RuleRename, SeverityWarning, "", "", "sp_rename "+renameAdvice)
		}
	case "CREATE":
		l.create(s)
	case "VACUUM":
		l.nonTransactional(s[0], "VACUUM", "postgres", "sqlite")
	case "PRAGMA":
		l.pragma(s)
	case "REINDEX":
		if t, ok := topLevel(s, "CONCURRENTLY"); ok {
			l.nonTransactional(t, "REINDEX CONCURRENTLY", "postgres")
		} else if kind := word(s, afterOptions(s, 1)); kind == "SCHEMA" || kind == "DATABASE" || kind == "SYSTEM" {
			l.nonTransactional(s[0], "REINDEX "+kind, "postgres")
		}
	case "CLUSTER":
		// Without a table it reclusters every table it did before.
		if i := skipWords(s, afterOptions(s, 1), "VERBOSE"); i >= len(s) {
			l.nonTransactional(s[0], "CLUSTER without a table", "postgres")
		}
	case "DISCARD":
		if word(s, 1) == "ALL" {
			l.nonTransactional(s[0], "DISCARD ALL", "postgres")
		}
	case "WITH":
		// The statement after the common table expressions decides.
		if i := topLevelIndex(s, 1, "DELETE", "UPDATE"); i >= 0 {
			l.statement(s[i:])
		}
	}
}

const renameAdvice = "breaks the previous application version, which still uses the old name while the new version rolls out; add the new name beside the old, move readers and writers over, then drop the old one in a later release"

func (l *linter) drop(s []token) {
	switch word(s, 1) {
	case "TABLE":
		for _, t := range names(s, skipWords(s, 2, "IF", "EXISTS")) {
			l.add(s[0], RuleDropTable, "", t, "", fmt.Sprintf("DROP TABLE %s destroys the table and every row in it", t))
		}
	case "SCHEMA", "DATABASE":
		kind := word(s, 1)
		for _, t := range names(s, skipWords(s, 2, "IF", "EXISTS")) {
			l.add(s[0], RuleDropSchema, "", "", "", fmt.Sprintf("DROP %s %s destroys every table in it", kind, t))
		}
		if kind == "DATABASE" {
			l.nonTransactional(s[0], "DROP DATABASE", "postgres", "sqlserver")
		}
	case "INDEX":
		if t, ok := topLevel(s, "CONCURRENTLY"); ok {
			l.nonTransactional(t, "DROP INDEX CONCURRENTLY", "postgres")
		}
	case "TABLESPACE":
		l.nonTransactional(s[0], "DROP TABLESPACE", "postgres")
	}
}

// notColumns follow DROP or ALTER in ALTER TABLE without naming a column.
var notColumns = map[string]bool{
	"CONSTRAINT": true, "INDEX": true, "KEY": true, "PRIMARY": true, "FOREIGN": true, "CHECK": true,
	"DEFAULT": true, "PARTITION": true, "UNIQUE": true, "TRIGGER": true, "PERIOD": true, "SYSTEM": true,
	"IDENTITY": true, "EXPRESSION": true, "NOT": true, "FULLTEXT": true, "SPATIAL": true, "ROW": true,
	"OIDS": true, "CLUSTER": true, "VERSIONING": true,
}

// keepType follow ALTER [COLUMN] c when the type stays the same.
var keepType = map[string]bool{
	"SET": true, "DROP": true, "ADD": true, "RESET": true, "RESTART": true, "OPTIONS": true,
}

func (l *linter) alter(s []token) {
	switch word(s, 1) {
	case "TABLE":
	case "TYPE":
		if t, ok := topLevel(s, "VALUE"); ok && l.d.Name == "postgres" {
			l.add(t, RuleNonTransactional, SeverityWarning, "", "", "ALTER TYPE ... ADD VALUE cannot run inside a transaction before PostgreSQL 12, and from 12 on the new value cannot be used until the transaction commits; consider \"-- migrate:no-transaction\"")
		}
		return
	case "SYSTEM":
		l.nonTransactional(s[0], "ALTER SYSTEM", "postgres")
		return
	case "DATABASE":
		l.nonTransactional(s[0], "ALTER DATABASE", "sqlserver")
		if _, ok := topLevel(s, "TABLESPACE"); ok {
			l.nonTransactional(s[0], "ALTER DATABASE ... SET TABLESPACE", "postgres")
		}
		return
	default:
		return
	}
	if _, ok := topLevel(s, "DETACH"); ok {
		if t, ok := topLevel(s, "CONCURRENTLY"); ok {
			l.nonTransactional(t, "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY", "postgres")
		}
	}
	table, i := name(s, skipWords(s, 2, "IF", "EXISTS", "ONLY"))
	if table == "" {
		return
	}
	droppingColumns := false
	for _, c := range clauses(s[i:]) {
		if len(c) == 0 {
			continue
		}
		at := c[0]
		switch c[0].upper() {
		case "DROP":
			droppingColumns = false
			j := skipWords(c, 1, "COLUMN", "IF", "EXISTS")
			if notColumns[word(c, j)] {
				continue
			}
			if col, _ := name(c, j); col != "" {
				droppingColumns = true
				l.dropColumn(at, table, col)
			}
		case "ALTER":
			droppingColumns = false
			j := skipWords(c, 1, "COLUMN")
			if notColumns[word(c, j)] {
				continue
			}
			col, k := name(c, j)
			next := word(c, k)
			if col == "" || next == "" || keepType[next] && !(next == "SET" && word(c, k+1) == "DATA") {
				continue
			}
			l.add(at, RuleColumnTypeChange, SeverityWarning, table, col, fmt.Sprintf("changes the type of %s.%s: existing values may not convert, the table may be rewritten under a lock, and the previous application version may not read the new type while the rollout runs", table, col))
		case "MODIFY", "CHANGE":
			droppingColumns = false
			j := skipWords(c, 1, "COLUMN")
			col, k := name(c, j)
			msg := fmt.Sprintf("%s redefines %s.%s: existing values may not convert, and the previous application version may not read the new definition while the rollout runs", c[0].upper(), table, col)
			l.add(at, RuleColumnTypeChange, SeverityWarning, table, col, msg)
			if newName, _ := name(c, k); c[0].upper() == "CHANGE" && newName != "" && !strings.EqualFold(newName, col) {
				l.add(at, RuleRename, SeverityWarning, table, col, fmt.Sprintf("CHANGE renames %s.%s to %s: %s", table, col, newName, renameAdvice))
			}
		case "RENAME":
			droppingColumns = false
			switch w := word(c, 1); {
			case w == "TO" || w == "AS":
				n, _ := name(c, 2)
				l.add(at, RuleRename, SeverityWarning, table, "", fmt.Sprintf("renames table %s to %s: %s", table, n, renameAdvice))
			case w == "CONSTRAINT" || w == "INDEX" || w == "KEY":
			default:
				col, k := name(c, skipWords(c, 1, "COLUMN"))
				n, _ := name(c, skipWords(c, k, "TO"))
				l.add(at, RuleRename, SeverityWarning, table, col, fmt.Sprintf("renames column %s.%s to %s: %s", table, col, n, renameAdvice))
			}
		default:
			// T-SQL: DROP COLUMN a, b names the further columns bare.
			if col, k := name(c, skipWords(c, 0, "IF", "EXISTS")); droppingColumns && col != "" && k == len(c) {
				l.dropColumn(at, table, col)
				continue
			}
			droppingColumns = false
		}
	}
}

func (l *linter) dropColumn(at token, table, col string) {
	l.add(at, RuleDropColumn, "", table, col, fmt.Sprintf("drops column %s.%s and the data in it", table, col))
}

func (l *linter) create(s []token) {
	if isRoutine(s) {
		return
	}
	i := skipWords(s, 1, "UNIQUE")
	switch word(s, i) {
	case "INDEX":
		if t, ok := topLevel(s, "CONCURRENTLY"); ok {
			l.nonTransactional(t, "CREATE INDEX CONCURRENTLY", "postgres")
		}
	case "DATABASE":
		l.nonTransactional(s[0], "CREATE DATABASE", "postgres", "sqlserver")
	case "TABLESPACE":
		l.nonTransactional(s[0], "CREATE TABLESPACE", "postgres")
	}
}

// nonTransactional reports what, which the named databases refuse inside
// a transaction, unless the script runs outside one.
func (l *linter) nonTransactional(at token, what string, databases ...string) {
	l.notInTransaction(at, what+" cannot run inside a transaction: add \"-- migrate:no-transaction\" to this script (and keep the statement alone in its migration)", databases...)
}

// notInTransaction reports msg, saying why the statement at at cannot do
// its work inside a transaction on the named databases and the way out,
// unless the script runs outside one.
func (l *linter) notInTransaction(at token, msg string, databases ...string) {
	if l.script.NoTransaction {
		return
	}
	for _, db := range databases {
		if db == l.d.Name {
			l.add(at, RuleNonTransactional, SeverityError, "", "", msg)
			return
		}
	}
}

const runOutside = ": add \"-- migrate:no-transaction\" to this script"

// pragma reports SQLite settings that a transaction keeps from changing.
// Only a setting is read: "PRAGMA foreign_keys" alone asks, and is fine.
func (l *linter) pragma(s []token) {
	p, i := name(s, 1)
	if i >= len(s) || s[i].kind != punctToken || s[i].text != "=" && s[i].text != "(" {
		return
	}
	if dot := strings.LastIndexByte(p, '.'); dot >= 0 {
		p = p[dot+1:] // main.journal_mode
	}
	switch strings.ToLower(p) {
	case "foreign_keys":
		// The 12-step table rebuild turns them off first: left on, its
		// DROP TABLE deletes the child rows ON DELETE CASCADE.
		l.notInTransaction(s[0], "PRAGMA foreign_keys does nothing inside a transaction, where SQLite ignores it without an error (left on, a table rebuild's DROP TABLE deletes the child rows ON DELETE CASCADE)"+runOutside, "sqlite")
	case "journal_mode":
		l.notInTransaction(s[0], "PRAGMA journal_mode does nothing inside a transaction, where SQLite keeps the old mode without an error"+runOutside, "sqlite")
	case "synchronous":
		l.nonTransactional(s[0], "PRAGMA synchronous", "sqlite")
	}
}
