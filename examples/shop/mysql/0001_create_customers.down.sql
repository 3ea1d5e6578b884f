DROP INDEX customers_email_key ON customers;
DROP TABLE customers;
