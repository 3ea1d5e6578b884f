-- v4: the release that adds referral codes. It is the one that goes wrong
-- in the README's story; see both ways out there.
ALTER TABLE customers ADD COLUMN referral_code VARCHAR(16);
