-- Customers of the shop. Email is the login, so it is unique.
CREATE TABLE customers (
    id         BIGINT IDENTITY(1,1) PRIMARY KEY,
    email      NVARCHAR(320) NOT NULL,
    full_name  NVARCHAR(200) NOT NULL,
    created_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME()
);
CREATE UNIQUE INDEX customers_email_key ON customers (email);
