CREATE TABLE orders (
    id          BIGINT IDENTITY(1,1) PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    created_at  DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME()
);
CREATE TABLE order_items (
    order_id    BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  BIGINT NOT NULL REFERENCES products (id),
    quantity    INT NOT NULL CHECK (quantity > 0),
    price_cents INT NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
-- "My orders" lists a customer's orders newest first.
CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at DESC);
