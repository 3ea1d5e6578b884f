-- wrong: note was NOT NULL
ALTER TABLE t ADD COLUMN note TEXT DEFAULT '';
