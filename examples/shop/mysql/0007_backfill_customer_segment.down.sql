DROP FUNCTION customer_segment;
ALTER TABLE customers DROP COLUMN segment;
