-- Segment customers by what they have spent; new customers start as 'new'.
-- A scalar function keeps the rule in one place for later reports.
-- Three batches, split on GO: CREATE FUNCTION must be alone in its batch,
-- and the UPDATE cannot be compiled in the batch that adds the column.
-- All three still run in the migration's one transaction.
ALTER TABLE customers ADD segment NVARCHAR(20) NOT NULL
    CONSTRAINT customers_segment_default DEFAULT N'new';
GO

CREATE FUNCTION dbo.customer_segment(@spent_cents BIGINT, @has_orders BIT)
RETURNS NVARCHAR(20)
AS
BEGIN
    IF @spent_cents >= 100000
        RETURN N'gold';  -- a ';' inside the body must not split the script
    IF @has_orders = 1
        RETURN N'returning';
    RETURN N'new';
END
GO

UPDATE c
SET segment = dbo.customer_segment(
    COALESCE((SELECT SUM(t.total_cents) FROM order_totals t WHERE t.customer_id = c.id), 0),
    CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) THEN 1 ELSE 0 END)
FROM customers c;
