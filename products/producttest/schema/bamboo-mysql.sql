-- Bamboo on MySQL: the tables reauth reads.
--
-- The table's name, REMEMBERME_TOKEN, is confirmed by Atlassian's KB "Invalidate all Bamboo
-- login sessions". Everything else is UNVERIFIED, as for PostgreSQL (bamboo-postgres.sql): the
-- token columns are Seraph's; the user directory tables are those of Crowd's own schema, from a
-- public MySQL dump of Crowd (jtalks-org/jtalks-infra files/default/crowd.sql, commit
-- 6527f02c66d1ce1efb97055e82fec5b829ffc80d), whose active columns hold 'T' and 'F'.

-- REMEMBERME_TOKEN: name from the KB; columns UNVERIFIED (Seraph's)
CREATE TABLE `REMEMBERME_TOKEN` (
  `ID` bigint NOT NULL,
  `CREATED` datetime DEFAULT NULL,
  `TOKEN` varchar(255) DEFAULT NULL,
  `USERNAME` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`ID`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_user: UNVERIFIED for Bamboo (crowd.sql)
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
  UNIQUE KEY `cwd_user_name_dir_id` (`lower_user_name`,`directory_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_group: UNVERIFIED for Bamboo (crowd.sql)
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
  UNIQUE KEY `cwd_group_name_dir_id` (`lower_group_name`,`directory_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_membership: UNVERIFIED for Bamboo (crowd.sql)
CREATE TABLE `cwd_membership` (
  `id` bigint NOT NULL,
  `parent_id` bigint NOT NULL,
  `child_id` bigint NOT NULL,
  `membership_type` varchar(32) DEFAULT NULL,
  `group_type` varchar(32) NOT NULL,
  `parent_name` varchar(255) NOT NULL,
  `lower_parent_name` varchar(255) NOT NULL,
  `child_name` varchar(255) NOT NULL,
  `lower_child_name` varchar(255) NOT NULL,
  `directory_id` bigint NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `cwd_mem_parent_child_type` (`parent_id`,`child_id`,`membership_type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
