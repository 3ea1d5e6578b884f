-- Customers of the shop. Email is the login, so it is unique.
CREATE TABLE customers (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email      VARCHAR(320) NOT NULL,
    full_name  VARCHAR(200) NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE UNIQUE INDEX customers_email_key ON customers (email);
