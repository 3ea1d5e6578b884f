CREATE TABLE p (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b));
CREATE TABLE c (
    id   INTEGER PRIMARY KEY,
    a    INTEGER,
    b    INTEGER,
    name VARCHAR(50),
    FOREIGN KEY (a, b) REFERENCES p (a, b) ON DELETE SET NULL
);
CREATE INDEX c_lower_name_idx ON c (lower(name), id DESC);
CREATE UNIQUE INDEX c_name_partial_idx ON c (name) WHERE a IS NOT NULL;
