DROP FUNCTION customer_segment(bigint, boolean);
ALTER TABLE customers DROP COLUMN segment;
