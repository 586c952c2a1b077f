-- Confluence on PostgreSQL: the tables reauth reads, as Confluence creates them.
--
-- Source: a pg_dump of Confluence 6.2.0, codeclou/docker-atlassian-confluence-data-center,
-- 6.2.0/confluencenode/confluence-db-dump.sql (commit dacdc7a7814c8c89d3b128fc7c72faaeaedc8991);
-- the 6.1.1 and 6.3.1 dumps of the same repository, and two later public dumps, have the same
-- shapes. Column names, types and NULL-ability are copied from its CREATE TABLE statements; the
-- primary keys (id; user_key for user_mapping) are declared in a later section of the dump.
--
-- UNVERIFIED: whether remembermetoken.username holds the login name or the user key of
-- user_mapping (no public source shows Confluence's remember-me DAO); reauth matches both.
-- UNVERIFIED: that remembermetoken.created holds epoch milliseconds (it is a bigint).

-- remembermetoken: confluence-db-dump.sql
CREATE TABLE remembermetoken (
    id bigint NOT NULL,
    username character varying(255) NOT NULL,
    created bigint NOT NULL,
    token character varying(255) NOT NULL,
    CONSTRAINT remembermetoken_pkey PRIMARY KEY (id)
);

-- user_mapping: confluence-db-dump.sql
CREATE TABLE user_mapping (
    user_key character varying(255) NOT NULL,
    username character varying(255) NOT NULL,
    lower_username character varying(255),
    CONSTRAINT user_mapping_pkey PRIMARY KEY (user_key)
);

-- cwd_user: confluence-db-dump.sql (active is 'T' or 'F', as in Crowd's own schema)
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
    external_id character varying(255),
    directory_id bigint NOT NULL,
    credential character varying(255),
    CONSTRAINT cwd_user_pkey PRIMARY KEY (id)
);

-- cwd_group: confluence-db-dump.sql
CREATE TABLE cwd_group (
    id bigint NOT NULL,
    group_name character varying(255) NOT NULL,
    lower_group_name character varying(255) NOT NULL,
    active character(1) NOT NULL,
    local character(1) NOT NULL,
    created_date timestamp without time zone NOT NULL,
    updated_date timestamp without time zone NOT NULL,
    description character varying(255),
    group_type character varying(32) NOT NULL,
    directory_id bigint NOT NULL,
    CONSTRAINT cwd_group_pkey PRIMARY KEY (id)
);

-- cwd_membership: confluence-db-dump.sql. Unlike Jira's, a row links a parent group to either a
-- child group or a child user, by id: no membership_type, no names.
CREATE TABLE cwd_membership (
    id bigint NOT NULL,
    parent_id bigint NOT NULL,
    child_group_id bigint,
    child_user_id bigint,
    CONSTRAINT cwd_membership_pkey PRIMARY KEY (id)
);
