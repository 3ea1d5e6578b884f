ALTER TABLE customers DROP COLUMN referral_code;
