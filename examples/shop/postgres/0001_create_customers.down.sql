DROP INDEX customers_email_key;
DROP TABLE customers;
