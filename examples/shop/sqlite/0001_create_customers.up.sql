-- Customers of the shop. Email is the login, so it is unique.
CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    email      VARCHAR(320) NOT NULL,
    full_name  VARCHAR(200) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX customers_email_key ON customers (email);
