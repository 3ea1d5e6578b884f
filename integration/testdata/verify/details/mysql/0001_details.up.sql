CREATE TABLE p (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b));
CREATE TABLE c (
    id         INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
    a          INTEGER,
    b          INTEGER,
    name       VARCHAR(50) DEFAULT 'it''s',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    qty        INTEGER CHECK (qty >= 0),
    total      INTEGER AS (qty * 2) STORED,
    FOREIGN KEY (a, b) REFERENCES p (a, b) ON DELETE SET NULL
);
-- MySQL has no partial indexes and MariaDB no expression keys: a prefix
-- key and a descending key instead.
CREATE INDEX c_name_prefix_idx ON c (name(10), id DESC);
CREATE UNIQUE INDEX c_name_key ON c (name);
CREATE VIEW c_names AS SELECT c.name /* shown */ FROM c JOIN p ON p.a = c.a;
CREATE TRIGGER c_bi BEFORE INSERT ON c FOR EACH ROW SET NEW.qty = COALESCE(NEW.qty, 0);
DELIMITER //
CREATE PROCEDURE c_count(IN min_qty INT, OUT n INT)
BEGIN
    SELECT COUNT(*) INTO n FROM c WHERE qty >= min_qty;
END //
DELIMITER ;
