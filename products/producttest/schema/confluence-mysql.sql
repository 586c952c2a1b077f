-- Confluence on MySQL: the tables reauth reads.
--
-- UNVERIFIED as a whole: no public MySQL dump of Confluence holding these tables was found.
-- The shapes are those of the PostgreSQL dump (confluence-postgres.sql) with MySQL's types for
-- the same Hibernate mappings (bigint, varchar, char(1), datetime). The one public MySQL trace
-- (a DDL note showing CONTENT in upper case beside a lower-case user_mapping with utf8_bin
-- columns) suggests the remember-me table may be spelt REMEMBERMETOKEN, so this fixture spells
-- it that way; reauth finds the table whatever its case. Atlassian's MySQL set-up guide for
-- Confluence asks for utf8mb4 with utf8mb4_bin.

-- remembermetoken: translated from confluence-postgres.sql (UNVERIFIED spelling and types)
CREATE TABLE `REMEMBERMETOKEN` (
  `ID` bigint NOT NULL,
  `USERNAME` varchar(255) NOT NULL,
  `CREATED` bigint NOT NULL,
  `TOKEN` varchar(255) NOT NULL,
  PRIMARY KEY (`ID`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- user_mapping: the public DDL note's shape (utf8_bin there; utf8mb4_bin here)
CREATE TABLE `user_mapping` (
  `user_key` varchar(255) NOT NULL,
  `username` varchar(255) NOT NULL,
  `lower_username` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`user_key`),
  UNIQUE KEY `unq_lwr_username` (`lower_username`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_user: translated from confluence-postgres.sql (UNVERIFIED types)
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
  `external_id` varchar(255) DEFAULT NULL,
  `directory_id` bigint NOT NULL,
  `credential` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_group: translated from confluence-postgres.sql (UNVERIFIED types)
CREATE TABLE `cwd_group` (
  `id` bigint NOT NULL,
  `group_name` varchar(255) NOT NULL,
  `lower_group_name` varchar(255) NOT NULL,
  `active` char(1) NOT NULL,
  `local` char(1) NOT NULL,
  `created_date` datetime NOT NULL,
  `updated_date` datetime NOT NULL,
  `description` varchar(255) DEFAULT NULL,
  `group_type` varchar(32) NOT NULL,
  `directory_id` bigint NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cwd_membership: translated from confluence-postgres.sql (UNVERIFIED types)
CREATE TABLE `cwd_membership` (
  `id` bigint NOT NULL,
  `parent_id` bigint NOT NULL,
  `child_group_id` bigint DEFAULT NULL,
  `child_user_id` bigint DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
