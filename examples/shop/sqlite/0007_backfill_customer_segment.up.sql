-- Segment customers by what they have spent; new customers start as 'new'.
ALTER TABLE customers ADD COLUMN segment VARCHAR(20) NOT NULL DEFAULT 'new';
UPDATE customers
SET segment = CASE
    WHEN (SELECT COALESCE(SUM(t.total_cents), 0) FROM order_totals t WHERE t.customer_id = customers.id) >= 100000 THEN 'gold'
    WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.id) THEN 'returning'
    ELSE 'new'
END;
