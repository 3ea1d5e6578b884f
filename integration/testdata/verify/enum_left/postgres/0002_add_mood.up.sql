CREATE TYPE mood AS ENUM ('happy', 'sad');
ALTER TABLE t ADD COLUMN mood mood;
