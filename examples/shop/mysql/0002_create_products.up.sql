-- The catalogue, with the launch range as reference data.
CREATE TABLE products (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sku         VARCHAR(40) NOT NULL UNIQUE,
    title       VARCHAR(200) NOT NULL,
    price_cents INT NOT NULL CHECK (price_cents >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO products (id, sku, title, price_cents) VALUES
    (1, 'MUG-001', 'Enamel mug', 1200),
    (2, 'TEE-001', 'Organic cotton tee', 2500),
    (3, 'CAP-001', 'Café cap', 1800);
