-- Crowd on PostgreSQL: the tables reauth reads, as Crowd creates them.
--
-- Source: a public pg_dump of a Crowd 5 database ("Dumped from database version 14.7";
-- cwd_property build.number 1891; the dump's liquibase changelog names
-- liquibase/bootstrap/02_cwd_token.xml, and CWD-3028 for last_accessed_time and duration).
-- Column names, types, NULL-ability, primary keys and unique constraints are copied from its
-- CREATE TABLE and ALTER TABLE statements; its plain indexes and its foreign keys to
-- cwd_directory are left out (reauth reads no cwd_directory).
--
-- cwd_token holds the SSO sessions, the rows behind the crowd.token_key cookie: a user's has
-- the user's directory_id and the user name in entity_name; an application's (Jira, Confluence
-- signed in to Crowd) has directory_id -1 and the application's name (Crowd's
-- Token.APPLICATION_TOKEN_DIRECTORY_ID; the dump's Crowd 2 counterpart in crowd-mysql.sql has a
-- row of each). UNVERIFIED: whether entity_name keeps the user's spelling or is folded (every
-- public sample is lower case), so rows of both spellings are seeded.

-- cwd_token: the Crowd 5 pg_dump
CREATE TABLE cwd_token (
    id bigint NOT NULL,
    directory_id bigint NOT NULL,
    entity_name character varying(255) NOT NULL,
    random_number bigint NOT NULL,
    identifier_hash character varying(255) NOT NULL,
    random_hash character varying(255) NOT NULL,
    created_date timestamp without time zone NOT NULL,
    last_accessed_date timestamp without time zone NOT NULL,
    last_accessed_time bigint DEFAULT 0 NOT NULL,
    duration bigint,
    CONSTRAINT cwd_token_pkey PRIMARY KEY (id),
    CONSTRAINT uk_token_id_hash UNIQUE (identifier_hash)
);

-- cwd_remember_me_token: the Crowd 5 pg_dump (Crowd 3.4 and later; the user's name in username,
-- with the user's directory_id; created_date and used_date as timestamp(6))
CREATE TABLE cwd_remember_me_token (
    id bigint NOT NULL,
    username character varying(255) NOT NULL,
    remote_address character varying(255),
    token character varying(64) NOT NULL,
    series character varying(64) NOT NULL,
    created_date timestamp(6) without time zone NOT NULL,
    used_date timestamp(6) without time zone,
    directory_id bigint NOT NULL,
    CONSTRAINT cwd_remember_me_token_pkey PRIMARY KEY (id),
    CONSTRAINT uk_rmt_token_and_series UNIQUE (token, series)
);

-- cwd_user: the Crowd 5 pg_dump
CREATE TABLE cwd_user (
    id bigint NOT NULL,
    user_name character varying(255) NOT NULL,
    lower_user_name character varying(255) NOT NULL,
    active character(1) NOT NULL,
    created_date timestamp without time zone NOT NULL,
    updated_date timestamp without time zone NOT NULL,
    first_name character varying(255),
    lower_first_name character varying(255),
    last_name character varying(255),
    lower_last_name character varying(255),
    display_name character varying(255),
    lower_display_name character varying(255),
    email_address character varying(255),
    lower_email_address character varying(255),
    directory_id bigint NOT NULL,
    credential character varying(255),
    external_id character varying(255),
    CONSTRAINT cwd_user_pkey PRIMARY KEY (id),
    CONSTRAINT uk_user_name_dir_id UNIQUE (lower_user_name, directory_id)
);

-- cwd_group: the Crowd 5 pg_dump
CREATE TABLE cwd_group (
    id bigint NOT NULL,
    group_name character varying(255) NOT NULL,
    lower_group_name character varying(255) NOT NULL,
    active character(1) NOT NULL,
    created_date timestamp without time zone NOT NULL,
    updated_date timestamp without time zone NOT NULL,
    description character varying(255),
    group_type character varying(32) NOT NULL,
    directory_id bigint NOT NULL,
    is_local character(1) NOT NULL,
    external_id character varying(255),
    CONSTRAINT cwd_group_pkey PRIMARY KEY (id),
    CONSTRAINT uk_group_name_dir_id UNIQUE (lower_group_name, directory_id)
);

-- cwd_membership: the Crowd 5 pg_dump (a user in a group: membership_type GROUP_USER, the group
-- as parent, the user as child)
CREATE TABLE cwd_membership (
    id bigint NOT NULL,
    parent_id bigint,
    child_id bigint,
    membership_type character varying(32),
    group_type character varying(32) NOT NULL,
    parent_name character varying(255) NOT NULL,
    lower_parent_name character varying(255) NOT NULL,
    child_name character varying(255) NOT NULL,
    lower_child_name character varying(255) NOT NULL,
    directory_id bigint NOT NULL,
    created_date timestamp without time zone,
    CONSTRAINT cwd_membership_pkey PRIMARY KEY (id),
    CONSTRAINT uk_mem_parent_child_type UNIQUE (parent_id, child_id, membership_type)
);

-- cwd_property: the Crowd 5 pg_dump (Crowd's settings; property_key 'crowd',
-- property_name 'database.token.storage.enabled' says where SSO sessions are kept: absent or
-- 'true', in cwd_token; 'false', in memory)
CREATE TABLE cwd_property (
    property_key character varying(255) NOT NULL,
    property_name character varying(255) NOT NULL,
    property_value text,
    CONSTRAINT cwd_property_pkey PRIMARY KEY (property_key, property_name)
);
