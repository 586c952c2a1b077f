-- Crowd on MySQL: the tables reauth reads, as Crowd creates them.
--
-- Source: a public MySQL dump of Crowd 2 (build.number 522; jtalks-org/jtalks-infra
-- files/default/crowd.sql, commit 6527f02c66d1ce1efb97055e82fec5b829ffc80d). Column names,
-- types, NULL-ability, primary keys and unique keys are copied from its CREATE TABLE
-- statements; its plain keys and its foreign keys to cwd_directory are left out. Its cwd_token
-- rows are one user's session (directory_id 32769, entity_name 'admin') and one application's
-- (directory_id -1, entity_name 'crowd').
--
-- Crowd 3 and later add cwd_token.last_accessed_time (bigint NOT NULL DEFAULT 0) and duration
-- (bigint NULL), as in crowd-postgres.sql (CWD-3028); no public MySQL dump of a later Crowd
-- was found, so they are added here with PostgreSQL's definitions: UNVERIFIED on MySQL.
-- cwd_remember_me_token came with Crowd 3.4, after that dump: its columns, keys and NULL-ability
-- are crowd-postgres.sql's, with the dump's MySQL spelling of the same PostgreSQL types (bigint,
-- varchar, and datetime for timestamp, here datetime(6) for timestamp(6)): UNVERIFIED on MySQL.
-- The dump's tables are utf8 with the default (case-insensitive) collation; the binary
-- collation here is the stricter case for reauth's exact name matching either way.

-- cwd_token: crowd.sql, with Crowd 3's two columns
CREATE TABLE `cwd_token` (
  `id` bigint NOT NULL,
  `directory_id` bigint NOT NULL,
  `entity_name` varchar(255) NOT NULL,
  `random_number` bigint NOT NULL,
  `identifier_hash` varchar(255) NOT NULL,
  `random_hash` varchar(255) NOT NULL,
  `created_date` datetime NOT NULL,
  `last_accessed_date` datetime NOT NULL,
  `last_accessed_time` bigint NOT NULL DEFAULT 0,
  `duration` bigint DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `identifier_hash` (`identifier_hash`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_remember_me_token: crowd-postgres.sql's, in MySQL's types (UNVERIFIED, see above)
CREATE TABLE `cwd_remember_me_token` (
  `id` bigint NOT NULL,
  `username` varchar(255) NOT NULL,
  `remote_address` varchar(255) DEFAULT NULL,
  `token` varchar(64) NOT NULL,
  `series` varchar(64) NOT NULL,
  `created_date` datetime(6) NOT NULL,
  `used_date` datetime(6) DEFAULT NULL,
  `directory_id` bigint NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_rmt_token_and_series` (`token`,`series`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_user: crowd.sql
CREATE TABLE `cwd_user` (
  `id` bigint NOT NULL,
  `user_name` varchar(255) NOT NULL,
  `lower_user_name` varchar(255) NOT NULL,
  `active` char(1) NOT NULL,
  `created_date` datetime NOT NULL,
  `updated_date` datetime NOT NULL,
  `first_name` varchar(255) DEFAULT NULL,
  `lower_first_name` varchar(255) DEFAULT NULL,
  `last_name` varchar(255) DEFAULT NULL,
  `lower_last_name` varchar(255) DEFAULT NULL,
  `display_name` varchar(255) DEFAULT NULL,
  `lower_display_name` varchar(255) DEFAULT NULL,
  `email_address` varchar(255) DEFAULT NULL,
  `lower_email_address` varchar(255) DEFAULT NULL,
  `directory_id` bigint NOT NULL,
  `credential` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `lower_user_name` (`lower_user_name`,`directory_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_group: crowd.sql
CREATE TABLE `cwd_group` (
  `id` bigint NOT NULL,
  `group_name` varchar(255) NOT NULL,
  `lower_group_name` varchar(255) NOT NULL,
  `active` char(1) NOT NULL,
  `is_local` char(1) NOT NULL,
  `created_date` datetime NOT NULL,
  `updated_date` datetime NOT NULL,
  `description` varchar(255) DEFAULT NULL,
  `group_type` varchar(32) NOT NULL,
  `directory_id` bigint NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `lower_group_name` (`lower_group_name`,`directory_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_membership: crowd.sql
CREATE TABLE `cwd_membership` (
  `id` bigint NOT NULL,
  `parent_id` bigint DEFAULT NULL,
  `child_id` bigint DEFAULT NULL,
  `membership_type` varchar(32) DEFAULT NULL,
  `group_type` varchar(32) NOT NULL,
  `parent_name` varchar(255) NOT NULL,
  `lower_parent_name` varchar(255) NOT NULL,
  `child_name` varchar(255) NOT NULL,
  `lower_child_name` varchar(255) NOT NULL,
  `directory_id` bigint NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `parent_id` (`parent_id`,`child_id`,`membership_type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_property: crowd.sql (whose rows include ('crowd','database.token.storage.enabled','true'))
CREATE TABLE `cwd_property` (
  `property_key` varchar(255) NOT NULL,
  `property_name` varchar(255) NOT NULL,
  `property_value` varchar(4000) DEFAULT NULL,
  PRIMARY KEY (`property_key`,`property_name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
