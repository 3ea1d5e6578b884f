CREATE VIEW order_totals AS
SELECT o.id AS order_id,
       o.customer_id,
       CAST(SUM(i.quantity * i.price_cents) AS SIGNED) AS total_cents
FROM orders o
JOIN order_items i ON i.order_id = o.id
GROUP BY o.id, o.customer_id;
