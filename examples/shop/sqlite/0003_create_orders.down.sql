DROP INDEX orders_customer_created_idx;
DROP TABLE order_items;
DROP TABLE orders;
