-- v4: the release that adds referral codes. It is the one that goes wrong
-- in the README's story; see both ways out there.
ALTER TABLE customers ADD referral_code NVARCHAR(16);
