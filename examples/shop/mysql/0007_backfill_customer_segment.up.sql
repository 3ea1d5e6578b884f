-- Segment customers by what they have spent; new customers start as 'new'.
-- A stored function keeps the rule in one place for later reports.
-- MySQL commits each statement here on its own: if the UPDATE failed, the
-- column and the function would stay, and status would say so.
ALTER TABLE customers ADD COLUMN segment VARCHAR(20) NOT NULL DEFAULT 'new';

-- The body holds ';', so it is written the way the mysql client wants it:
-- between DELIMITER lines. migrate reads DELIMITER the same way.
DELIMITER //
CREATE FUNCTION customer_segment(spent_cents BIGINT, has_orders BOOLEAN)
RETURNS VARCHAR(20)
DETERMINISTIC NO SQL
BEGIN
    IF spent_cents >= 100000 THEN
        RETURN 'gold';  -- a ';' inside the body must not split the script
    ELSEIF has_orders THEN
        RETURN 'returning';
    END IF;
    RETURN 'new';
END //
DELIMITER ;

UPDATE customers c
SET c.segment = customer_segment(
    COALESCE((SELECT SUM(t.total_cents) FROM order_totals t WHERE t.customer_id = c.id), 0),
    EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id));
