CREATE EXTENSION IF NOT EXISTS pgcrypto;
ALTER TABLE t ADD COLUMN token TEXT NOT NULL DEFAULT encode(gen_random_bytes(16), 'hex');
