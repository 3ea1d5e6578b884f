-- VARCHAR, not TEXT: MySQL 8 takes no literal default on TEXT.
CREATE TABLE t (id INTEGER PRIMARY KEY, note VARCHAR(100) NOT NULL DEFAULT '');
