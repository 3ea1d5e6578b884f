-- Segment customers by what they have spent; new customers start as 'new'.
-- A plpgsql helper keeps the rule in one place for later reports.
ALTER TABLE customers ADD COLUMN segment VARCHAR(20) NOT NULL DEFAULT 'new';

CREATE FUNCTION customer_segment(spent_cents bigint, has_orders boolean) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF spent_cents >= 100000 THEN
        RETURN 'gold';  -- a ';' inside the body must not split the script
    ELSIF has_orders THEN
        RETURN 'returning';
    END IF;
    RETURN 'new';
END;
$$;

UPDATE customers c
SET segment = customer_segment(
    COALESCE((SELECT SUM(t.total_cents) FROM order_totals t WHERE t.customer_id = c.id), 0)::bigint,
    EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id));
