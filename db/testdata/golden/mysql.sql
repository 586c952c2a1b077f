-- discovery: tables in the default schema
SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE';

-- discovery: tables in a configured schema
SELECT table_schema, table_name FROM information_schema.tables WHERE LOWER(table_schema) = LOWER(?) AND table_type = 'BASE TABLE';
-- args: [public]

-- discovery: columns
SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position;
-- args: [public remembermetoken]

-- discovery: primary key
SELECT column_name FROM information_schema.key_column_usage WHERE constraint_name = 'PRIMARY' AND table_schema = ? AND table_name = ? ORDER BY ordinal_position;
-- args: [public remembermetoken]

-- count: all
SELECT COUNT(*) FROM `public`.`remembermetoken`;

-- count: in scope
SELECT COUNT(*) FROM `public`.`remembermetoken` WHERE `username` IN (?, ?) AND (`username` IS NULL OR `username` NOT IN (?)) AND `created` < ?;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- count: stored names compared code point for code point, whatever the collation
SELECT COUNT(*) FROM `public`.`remembermetoken` WHERE CONVERT(`username` USING utf8mb4) COLLATE utf8mb4_bin IN (?, ?) AND (`username` IS NULL OR CONVERT(`username` USING utf8mb4) COLLATE utf8mb4_bin NOT IN (?));
-- args: [Alice alice root]

-- select in scope: backup, one consistent read
SELECT `id`, `created`, `token`, `username` FROM `public`.`remembermetoken` WHERE `username` IN (?, ?) AND (`username` IS NULL OR `username` NOT IN (?)) AND `created` < ? ORDER BY `id`;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- sessions list: tokens per user
SELECT CONVERT(`username` USING utf8mb4) COLLATE utf8mb4_bin, COUNT(*), MIN(`created`), MAX(`created`) FROM `public`.`remembermetoken` WHERE `username` IN (?, ?) AND (`username` IS NULL OR `username` NOT IN (?)) AND `created` < ? GROUP BY CONVERT(`username` USING utf8mb4) COLLATE utf8mb4_bin;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- select in scope: one clear batch after key 10500
SELECT `id`, `created`, `token`, `username` FROM `public`.`remembermetoken` WHERE `username` IN (?, ?) AND (`username` IS NULL OR `username` NOT IN (?)) AND `created` < ? AND `id` > ? ORDER BY `id` LIMIT 500 FOR UPDATE;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC 10500]

-- delete a batch: scope and key range
DELETE FROM `public`.`remembermetoken` WHERE `username` IN (?, ?) AND (`username` IS NULL OR `username` NOT IN (?)) AND `created` < ? AND `id` > ? AND `id` <= ?;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC 10500 11000]

-- delete a batch of all rows in key order, no further than its rows (the next batch is read meanwhile)
DELETE FROM `public`.`remembermetoken` WHERE `id` > ? AND `id` <= ? ORDER BY `id` LIMIT 500;
-- args: [10500 11000]

-- after it: is the batch's last row left?
SELECT `id` FROM `public`.`remembermetoken` WHERE `id` IN (?);
-- args: [11000]

-- delete a batch and return its rows (MariaDB), in a key range
DELETE FROM `public`.`remembermetoken` WHERE `id` > ? AND `id` <= ? ORDER BY `id` LIMIT 500 RETURNING `id`, `created`, `token`, `username`;
-- args: [10500 20000]

-- where a clear of every row splits the keys
SELECT MIN(`id`), MAX(`id`) FROM `public`.`remembermetoken`;

-- clear: the consistent read that opens the read view held to defer the purge
SELECT `id` FROM `public`.`remembermetoken` ORDER BY `id` LIMIT 1;

-- lock the table against other reauth processes, without waiting
SELECT COALESCE(GET_LOCK(?, 0), 0);
-- args: [reauth:public.remembermetoken]

-- release it
SELECT RELEASE_LOCK(?);
-- args: [reauth:public.remembermetoken]

-- delete a batch by its keys (when rows were inserted into its range)
DELETE FROM `public`.`remembermetoken` WHERE `id` IN (?, ?, ?);
-- args: [10501 10502 10503]

-- restore: keys already present
SELECT `id` FROM `public`.`remembermetoken` WHERE `id` IN (?, ?);
-- args: [1 2]

-- restore: insert two rows
INSERT INTO `public`.`remembermetoken` (`id`, `created`, `token`, `username`) VALUES (?, ?, ?, ?), (?, ?, ?, ?);

-- quoting: hostile identifiers
INSERT INTO `we"ird`.`t``a]ble` (`c"ol`) VALUES (?);

-- delete strategy: rows locked, ordered delete: true, returning delete: true, defer purge: true, pages: false, isolation: Read Committed, default batch: 50000, max params: 65535, max IN list: 1000, insert batch for 4 columns: 1000, for 7: 1000
