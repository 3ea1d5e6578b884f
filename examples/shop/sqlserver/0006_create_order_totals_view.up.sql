-- CREATE VIEW must be the only statement in its batch; this script is one
-- batch, so it needs no GO.
CREATE VIEW order_totals AS
SELECT o.id AS order_id,
       o.customer_id,
       SUM(CAST(i.quantity AS BIGINT) * i.price_cents) AS total_cents
FROM orders o
JOIN order_items i ON i.order_id = o.id
GROUP BY o.id, o.customer_id;
