-- migrate:irreversible
DELETE FROM t;
