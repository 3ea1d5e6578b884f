// Package schema is a database-neutral picture of a schema, taken by a
// driver from its own catalogue, so that `migrate verify` can tell whether a
// down script really undid its up script. A Snapshot holds only what a
// migration can change (tables, columns, constraints, indexes, views, types,
// sequences, routines, triggers); never data, sizes or object ids, so two
// snapshots of the same schema are equal however it was built.
package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Snapshot is a schema at one moment. Drivers fill it and call Sort; String
// and Diff do not depend on the order of the slices.
//
// A snapshot is read, never changed: a driver that keeps the tables of its
// last snapshot hands the same column, constraint and index lists to the
// next one (verify takes three snapshots per migration of a schema that
// grows, and copying every table each time cost more than reading the
// changed ones). Sort leaves lists that are already in order unwritten, so
// sorting such a snapshot again is safe.
type Snapshot struct {
	// DefaultSchema is the schema whose objects are named without a
	// qualifier (the driver's own); empty where the database has none.
	DefaultSchema string
	Schemas       []string
	Extensions    []Extension
	Types         []Type
	Tables        []Table
	Views         []View
	Sequences     []Sequence
	Functions     []Function
	Triggers      []Trigger
}

// Extension is an installed extension (PostgreSQL).
type Extension struct {
	Name, Schema, Version string
}

// TypeKind is the kind of a user-defined type.
type TypeKind string

// Kinds of user-defined types.
const (
	Enum      TypeKind = "enum"
	Domain    TypeKind = "domain"
	Composite TypeKind = "composite"
)

// Type is a user-defined type.
type Type struct {
	Schema, Name string
	Kind         TypeKind
	// Labels are an enum's values in their sort order.
	Labels []string
	// Definition describes a domain or composite type in the driver's words.
	Definition string
}

// Table is a table with everything that hangs off it.
type Table struct {
	Schema, Name string
	// Columns are compared by name, not position: a down script that
	// re-adds a dropped column can only append it, and that is a faithful
	// undo for every purpose but SELECT *.
	Columns     []Column
	Constraints []Constraint
	Indexes     []Index
}

// Column is one column of a table.
type Column struct {
	Name    string
	Type    string
	NotNull bool
	// Default is the default expression as the database prints it.
	Default string
	// Generated is the expression of a generated column, with its kind
	// ("STORED"/"VIRTUAL") first.
	Generated string
	// Identity is "ALWAYS" or "BY DEFAULT" for identity columns.
	Identity string
}

// ConstraintKind is the kind of a table constraint.
type ConstraintKind string

// Kinds of table constraints.
const (
	PrimaryKey ConstraintKind = "primary key"
	Unique     ConstraintKind = "unique"
	ForeignKey ConstraintKind = "foreign key"
	Check      ConstraintKind = "check"
	Exclusion  ConstraintKind = "exclusion"
)

// Constraint is a table constraint.
type Constraint struct {
	Kind ConstraintKind
	// Name is empty where the database keeps no name (SQLite's unnamed
	// constraints); the constraint is then known by what it constrains.
	Name    string
	Columns []string
	// RefTable and RefColumns are what a foreign key references.
	RefTable           string
	RefColumns         []string
	OnDelete, OnUpdate string
	// Expr is a check constraint's expression.
	Expr string
	// Definition is the driver's full text of the constraint, compared
	// last to catch what the fields above do not hold (DEFERRABLE, MATCH).
	Definition string
}

// Index is an index that no constraint owns (constraint indexes are
// covered by their constraint).
type Index struct {
	Name    string
	Unique  bool
	Columns []IndexColumn
	// Where is a partial index's predicate.
	Where string
	// Definition is the driver's full text of the index, compared last
	// (method, operator classes, INCLUDE).
	Definition string
}

// IndexColumn is one key of an index: a column name or an expression.
type IndexColumn struct {
	Expr      string
	Desc      bool
	Collation string
}

// View is a view or materialised view.
type View struct {
	Schema, Name string
	Materialized bool
	// Definition is the query, normalised by the driver.
	Definition string
}

// Sequence is a standalone sequence (identity sequences belong to their
// column).
type Sequence struct {
	Schema, Name string
	// Definition holds type, bounds, increment, cycle and owner; never the
	// current value, which data changes.
	Definition string
}

// Function is a function, procedure or other routine.
type Function struct {
	Schema, Name string
	Kind         string
	// Args is the identity signature, which tells overloads apart.
	Args   string
	Result string
	// BodyHash changes when anything in the routine's definition does.
	BodyHash string
}

// Trigger is a trigger on a table or view.
type Trigger struct {
	Schema, Table, Name string
	Definition          string
}

// Sort puts every list in a fixed order, so that equal schemas print
// equally.
func (s *Snapshot) Sort() {
	slices.Sort(s.Schemas)
	slices.SortFunc(s.Extensions, extensionOrder)
	slices.SortFunc(s.Types, s.typeOrder)
	slices.SortFunc(s.Tables, s.tableOrder)
	for i := range s.Tables {
		s.Tables[i].Sort()
	}
	slices.SortFunc(s.Views, s.viewOrder)
	slices.SortFunc(s.Sequences, s.sequenceOrder)
	slices.SortFunc(s.Functions, s.functionOrder)
	slices.SortFunc(s.Triggers, s.triggerOrder)
}

// Sort puts the table's columns, constraints and indexes in a fixed order.
// It writes nothing when they already are: the lists may be shared with
// another snapshot.
func (t *Table) Sort() {
	if t.isSorted() {
		return
	}
	slices.SortFunc(t.Columns, columnOrder)
	slices.SortFunc(t.Constraints, constraintOrder)
	slices.SortFunc(t.Indexes, indexOrder)
}

func (t *Table) isSorted() bool {
	return slices.IsSortedFunc(t.Columns, columnOrder) && slices.IsSortedFunc(t.Constraints, constraintOrder) && slices.IsSortedFunc(t.Indexes, indexOrder)
}

func extensionOrder(a, b Extension) int { return cmp.Compare(a.Name, b.Name) }
func columnOrder(a, b Column) int       { return cmp.Compare(a.Name, b.Name) }

// constraintOrder orders by key() without building it: no kind's name is a
// prefix of another's (they start with different letters), so comparing
// the kinds, then the name or signature, is comparing the keys. Snapshots
// are sorted, and checked sorted, on every verify step.
func constraintOrder(a, b Constraint) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.sortName(), b.sortName())
}

// sortName is key() without the kind.
func (c Constraint) sortName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.signature()
}
func indexOrder(a, b Index) int { return cmp.Compare(a.Name, b.Name) }

func (s *Snapshot) typeOrder(a, b Type) int {
	return cmp.Compare(s.qualify(a.Schema, a.Name), s.qualify(b.Schema, b.Name))
}
func (s *Snapshot) tableOrder(a, b Table) int {
	return cmp.Compare(s.qualify(a.Schema, a.Name), s.qualify(b.Schema, b.Name))
}
func (s *Snapshot) viewOrder(a, b View) int {
	return cmp.Compare(s.qualify(a.Schema, a.Name), s.qualify(b.Schema, b.Name))
}
func (s *Snapshot) sequenceOrder(a, b Sequence) int {
	return cmp.Compare(s.qualify(a.Schema, a.Name), s.qualify(b.Schema, b.Name))
}
func (s *Snapshot) functionOrder(a, b Function) int { return cmp.Compare(s.funcKey(a), s.funcKey(b)) }
func (s *Snapshot) triggerOrder(a, b Trigger) int {
	return cmp.Compare(s.triggerKey(a), s.triggerKey(b))
}

// Clone returns a copy that shares no list with t, so that sorting one
// never reorders the other.
func (t Table) Clone() Table {
	t.Columns = slices.Clone(t.Columns)
	t.Constraints = slices.Clone(t.Constraints)
	t.Indexes = slices.Clone(t.Indexes)
	return t
}

// qualify names an object, leaving the default schema out.
func (s *Snapshot) qualify(schema, name string) string {
	if schema == "" || schema == s.DefaultSchema {
		return name
	}
	return schema + "." + name
}

func (s *Snapshot) funcKey(f Function) string {
	return s.qualify(f.Schema, f.Name) + "(" + f.Args + ")"
}

func (s *Snapshot) triggerKey(t Trigger) string {
	return s.qualify(t.Schema, t.Table) + " trigger " + t.Name
}

// key identifies a constraint within its table: by name where it has one,
// else by what it constrains.
func (c Constraint) key() string { return string(c.Kind) + " " + c.sortName() }

// signature is what the constraint constrains, without its name.
func (c Constraint) signature() string {
	switch c.Kind {
	case Check:
		return "(" + c.Expr + ")"
	case ForeignKey:
		return "(" + strings.Join(c.Columns, ", ") + ") -> " + c.RefTable + " (" + strings.Join(c.RefColumns, ", ") + ")"
	case PrimaryKey, Unique:
		return "(" + strings.Join(c.Columns, ", ") + ")"
	}
	return c.Definition
}

// describe is the constraint's line in String.
func (c Constraint) describe() string {
	if c.Name == "" {
		return c.key() + c.actions()
	}
	return c.key() + " " + c.detail()
}

// detail is what the constraint says, without its kind and name.
func (c Constraint) detail() string {
	return c.signature() + c.actions()
}

func (c Constraint) actions() string {
	out := ""
	if c.OnDelete != "" && c.OnDelete != "NO ACTION" {
		out += " ON DELETE " + c.OnDelete
	}
	if c.OnUpdate != "" && c.OnUpdate != "NO ACTION" {
		out += " ON UPDATE " + c.OnUpdate
	}
	return out
}

func (c Column) describe() string {
	out := c.Type
	if c.NotNull {
		out += " NOT NULL"
	} else {
		out += " NULL"
	}
	if c.Default != "" {
		out += " DEFAULT " + c.Default
	}
	if c.Identity != "" {
		out += " GENERATED " + c.Identity + " AS IDENTITY"
	}
	if c.Generated != "" {
		out += " GENERATED AS " + c.Generated
	}
	return out
}

func (ix Index) columns() string {
	parts := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		parts[i] = c.Expr
		if c.Collation != "" {
			parts[i] += " COLLATE " + c.Collation
		}
		if c.Desc {
			parts[i] += " DESC"
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (ix Index) describe() string {
	out := ix.columns()
	if ix.Unique {
		out = "UNIQUE " + out
	}
	if ix.Where != "" {
		out += " WHERE " + ix.Where
	}
	return out
}

func (t Type) describe() string {
	if t.Kind == Enum {
		quoted := make([]string, len(t.Labels))
		for i, l := range t.Labels {
			quoted[i] = "'" + strings.ReplaceAll(l, "'", "''") + "'"
		}
		return "enum (" + strings.Join(quoted, ", ") + ")"
	}
	return string(t.Kind) + " " + t.Definition
}

func (f Function) describe() string {
	out := f.Kind + " returns " + f.Result
	if f.Result == "" {
		out = f.Kind
	}
	return out + " [body " + f.BodyHash + "]"
}

// String prints the snapshot one object per line, in a fixed order; two
// snapshots of the same schema print the same text.
func (s *Snapshot) String() string {
	c := s.sortedCopy()
	var b strings.Builder
	for _, n := range c.Schemas {
		fmt.Fprintf(&b, "schema %s\n", n)
	}
	for _, e := range c.Extensions {
		fmt.Fprintf(&b, "extension %s %s in schema %s\n", e.Name, e.Version, e.Schema)
	}
	for _, t := range c.Types {
		fmt.Fprintf(&b, "type %s %s\n", c.qualify(t.Schema, t.Name), t.describe())
	}
	for _, t := range c.Tables {
		fmt.Fprintf(&b, "table %s\n", c.qualify(t.Schema, t.Name))
		for _, col := range t.Columns {
			fmt.Fprintf(&b, "  column %s %s\n", col.Name, col.describe())
		}
		for _, con := range t.Constraints {
			fmt.Fprintf(&b, "  %s\n", con.describe())
		}
		for _, ix := range t.Indexes {
			fmt.Fprintf(&b, "  index %s %s\n", ix.Name, ix.describe())
		}
	}
	for _, v := range c.Views {
		kind := "view"
		if v.Materialized {
			kind = "materialized view"
		}
		fmt.Fprintf(&b, "%s %s AS %s\n", kind, c.qualify(v.Schema, v.Name), v.Definition)
	}
	for _, q := range c.Sequences {
		fmt.Fprintf(&b, "sequence %s %s\n", c.qualify(q.Schema, q.Name), q.Definition)
	}
	for _, f := range c.Functions {
		fmt.Fprintf(&b, "%s %s\n", f.Kind, c.funcKey(f)+" "+strings.TrimPrefix(f.describe(), f.Kind+" "))
	}
	for _, t := range c.Triggers {
		fmt.Fprintf(&b, "trigger %s on %s: %s\n", t.Name, c.qualify(t.Schema, t.Table), t.Definition)
	}
	return b.String()
}

// inOrder returns s itself when it is sorted (as drivers leave it), else a
// sorted copy: verify diffs large schemas three times per migration, and
// copying them would cost more than comparing.
func (s *Snapshot) inOrder() *Snapshot {
	if s.isSorted() {
		return s
	}
	return s.sortedCopy()
}

func (s *Snapshot) isSorted() bool {
	ok := slices.IsSorted(s.Schemas) &&
		slices.IsSortedFunc(s.Extensions, extensionOrder) &&
		slices.IsSortedFunc(s.Types, s.typeOrder) &&
		slices.IsSortedFunc(s.Tables, s.tableOrder) &&
		slices.IsSortedFunc(s.Views, s.viewOrder) &&
		slices.IsSortedFunc(s.Sequences, s.sequenceOrder) &&
		slices.IsSortedFunc(s.Functions, s.functionOrder) &&
		slices.IsSortedFunc(s.Triggers, s.triggerOrder)
	for i := 0; ok && i < len(s.Tables); i++ {
		ok = s.Tables[i].isSorted()
	}
	return ok
}

// sortedCopy sorts a copy, so that printing never reorders the caller's
// snapshot under its feet.
func (s *Snapshot) sortedCopy() *Snapshot {
	c := *s
	c.Schemas = slices.Clone(s.Schemas)
	c.Extensions = slices.Clone(s.Extensions)
	c.Types = slices.Clone(s.Types)
	c.Tables = make([]Table, len(s.Tables))
	for i, t := range s.Tables {
		c.Tables[i] = t.Clone()
	}
	c.Views = slices.Clone(s.Views)
	c.Sequences = slices.Clone(s.Sequences)
	c.Functions = slices.Clone(s.Functions)
	c.Triggers = slices.Clone(s.Triggers)
	c.Sort()
	return &c
}
