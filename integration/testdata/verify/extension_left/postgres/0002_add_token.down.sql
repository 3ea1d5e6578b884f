-- wrong: forgets DROP EXTENSION pgcrypto
ALTER TABLE t DROP COLUMN token;
