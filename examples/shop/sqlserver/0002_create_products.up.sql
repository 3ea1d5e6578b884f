-- The catalogue, with the launch range as reference data. N'' literals keep
-- the accent in Café: plain '' strings are in the database's code page.
CREATE TABLE products (
    id          BIGINT IDENTITY(1,1) PRIMARY KEY,
    sku         NVARCHAR(40) NOT NULL UNIQUE,
    title       NVARCHAR(200) NOT NULL,
    price_cents INT NOT NULL CHECK (price_cents >= 0)
);
INSERT INTO products (sku, title, price_cents) VALUES
    (N'MUG-001', N'Enamel mug', 1200),
    (N'TEE-001', N'Organic cotton tee', 2500),
    (N'CAP-001', N'Café cap', 1800);
