-- v5 rolls forward: it undoes v4 as a normal deployment, so production's
-- history reads v3 -> v4 -> v5 and nothing is rewound.
-- Its up is v4's down; its down is v4's up.
-- lint:ignore drop-column: the codes handed out by the bad release are discarded on purpose
ALTER TABLE customers DROP COLUMN referral_code;
