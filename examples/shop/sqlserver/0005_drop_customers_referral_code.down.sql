ALTER TABLE customers ADD referral_code NVARCHAR(16);
