-- wrong: the CHECK (qty > 0) is gone
CREATE TABLE t (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL);
