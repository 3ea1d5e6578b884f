-- wrong: note was VARCHAR(100)
ALTER TABLE t ADD COLUMN note TEXT;
