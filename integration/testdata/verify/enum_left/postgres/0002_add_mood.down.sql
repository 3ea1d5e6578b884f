-- wrong: forgets DROP TYPE mood
ALTER TABLE t DROP COLUMN mood;
