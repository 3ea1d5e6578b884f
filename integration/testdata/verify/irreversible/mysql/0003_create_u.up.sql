CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER, CONSTRAINT u_t_fk FOREIGN KEY (t_id) REFERENCES t (id) ON DELETE CASCADE);
-- MySQL has no partial indexes; a unique index allows many NULLs anyway.
CREATE UNIQUE INDEX u_t_id_idx ON u (t_id);
