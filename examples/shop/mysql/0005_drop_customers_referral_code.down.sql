ALTER TABLE customers ADD COLUMN referral_code VARCHAR(16);
