-- Jira on MySQL: the tables reauth reads, as Jira creates them.
--
-- Source: a mysqldump of Jira 7 on MySQL 5.6 ("Server version 5.6.24-72.2"),
-- alekssaul/DemoLab, apps/jira/jira.sql (commit f533ba9671610da5ef3ff9bcb79bbe0ca4d17b9f).
-- Column names (note the mixed case: ID, CREATED, TOKEN, USERNAME, CREDENTIAL and EXTERNAL_ID
-- are upper case, the rest lower case), types, keys and the latin1 character set (with its
-- case- and accent-insensitive default collation) are copied from its CREATE TABLE statements;
-- secondary indexes the dump lists beyond the unique keys are left out.
--
-- remembermetoken.username holds the user key (see jira-postgres.sql).

-- remembermetoken: apps/jira/jira.sql
CREATE TABLE `remembermetoken` (
  `ID` decimal(18,0) NOT NULL,
  `CREATED` datetime DEFAULT NULL,
  `TOKEN` varchar(255) DEFAULT NULL,
  `USERNAME` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`ID`),
  KEY `remembermetoken_username_index` (`USERNAME`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- app_user: apps/jira/jira.sql
CREATE TABLE `app_user` (
  `ID` decimal(18,0) NOT NULL,
  `user_key` varchar(255) DEFAULT NULL,
  `lower_user_name` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`ID`),
  UNIQUE KEY `uk_user_key` (`user_key`),
  UNIQUE KEY `uk_lower_user_name` (`lower_user_name`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- cwd_user: apps/jira/jira.sql (active is 1 or 0)
CREATE TABLE `cwd_user` (
  `ID` decimal(18,0) NOT NULL,
  `directory_id` decimal(18,0) DEFAULT NULL,
  `user_name` varchar(255) DEFAULT NULL,
  `lower_user_name` varchar(255) DEFAULT NULL,
  `active` decimal(9,0) DEFAULT NULL,
  `created_date` datetime DEFAULT NULL,
  `updated_date` datetime DEFAULT NULL,
  `first_name` varchar(255) DEFAULT NULL,
  `lower_first_name` varchar(255) DEFAULT NULL,
  `last_name` varchar(255) DEFAULT NULL,
  `lower_last_name` varchar(255) DEFAULT NULL,
  `display_name` varchar(255) DEFAULT NULL,
  `lower_display_name` varchar(255) DEFAULT NULL,
  `email_address` varchar(255) DEFAULT NULL,
  `lower_email_address` varchar(255) DEFAULT NULL,
  `CREDENTIAL` varchar(255) DEFAULT NULL,
  `deleted_externally` decimal(9,0) DEFAULT NULL,
  `EXTERNAL_ID` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`ID`),
  UNIQUE KEY `uk_user_name_dir_id` (`lower_user_name`,`directory_id`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- cwd_group: apps/jira/jira.sql
CREATE TABLE `cwd_group` (
  `ID` decimal(18,0) NOT NULL,
  `group_name` varchar(255) DEFAULT NULL,
  `lower_group_name` varchar(255) DEFAULT NULL,
  `active` decimal(9,0) DEFAULT NULL,
  `local` decimal(9,0) DEFAULT NULL,
  `created_date` datetime DEFAULT NULL,
  `updated_date` datetime DEFAULT NULL,
  `description` varchar(255) DEFAULT NULL,
  `lower_description` varchar(255) DEFAULT NULL,
  `group_type` varchar(60) DEFAULT NULL,
  `directory_id` decimal(18,0) DEFAULT NULL,
  PRIMARY KEY (`ID`),
  UNIQUE KEY `uk_group_name_dir_id` (`lower_group_name`,`directory_id`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- cwd_membership: apps/jira/jira.sql
CREATE TABLE `cwd_membership` (
  `ID` decimal(18,0) NOT NULL,
  `parent_id` decimal(18,0) DEFAULT NULL,
  `child_id` decimal(18,0) DEFAULT NULL,
  `membership_type` varchar(60) DEFAULT NULL,
  `group_type` varchar(60) DEFAULT NULL,
  `parent_name` varchar(255) DEFAULT NULL,
  `lower_parent_name` varchar(255) DEFAULT NULL,
  `child_name` varchar(255) DEFAULT NULL,
  `lower_child_name` varchar(255) DEFAULT NULL,
  `directory_id` decimal(18,0) DEFAULT NULL,
  PRIMARY KEY (`ID`),
  UNIQUE KEY `uk_mem_parent_child_type` (`parent_id`,`child_id`,`membership_type`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- cwd_directory: apps/jira/jira.sql
CREATE TABLE `cwd_directory` (
  `ID` decimal(18,0) NOT NULL,
  `directory_name` varchar(255) DEFAULT NULL,
  `lower_directory_name` varchar(255) DEFAULT NULL,
  `created_date` datetime DEFAULT NULL,
  `updated_date` datetime DEFAULT NULL,
  `active` decimal(9,0) DEFAULT NULL,
  `description` varchar(255) DEFAULT NULL,
  `impl_class` varchar(255) DEFAULT NULL,
  `lower_impl_class` varchar(255) DEFAULT NULL,
  `directory_type` varchar(60) DEFAULT NULL,
  `directory_position` decimal(18,0) DEFAULT NULL,
  PRIMARY KEY (`ID`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
