DROP INDEX orders_customer_created_idx ON orders;
DROP TABLE order_items;
DROP TABLE orders;
