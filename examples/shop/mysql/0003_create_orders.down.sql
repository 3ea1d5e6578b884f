-- No DROP INDEX orders_customer_created_idx ON orders here: it is the index
-- orders_customer_fk uses now, so MySQL refuses to drop it on its own
-- (error 1553); it goes with its table.
DROP TABLE order_items;
DROP TABLE orders;
