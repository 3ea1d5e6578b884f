DROP INDEX u_t_id_idx;
DROP TABLE u;
