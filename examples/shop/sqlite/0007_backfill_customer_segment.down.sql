ALTER TABLE customers DROP COLUMN segment;
