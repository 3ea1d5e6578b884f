-- The named default constraint must go before its column can.
DROP FUNCTION dbo.customer_segment;
ALTER TABLE customers DROP CONSTRAINT customers_segment_default;
ALTER TABLE customers DROP COLUMN segment;
