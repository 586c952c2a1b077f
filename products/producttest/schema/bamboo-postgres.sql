-- Bamboo on PostgreSQL: the tables reauth reads.
--
-- The table's name is confirmed by Atlassian's KB "Invalidate all Bamboo login sessions"
-- (DELETE FROM REMEMBERME_TOKEN; then a restart). Created without quotes, PostgreSQL folds it
-- to rememberme_token.
--
-- UNVERIFIED: its columns. No public dump, mapping or DDL of Bamboo shows them; these are the
-- columns of Seraph's remember-me token (id, created, token, username), as Jira's and
-- Confluence's tables have them, with the types Hibernate gives them on PostgreSQL.
-- UNVERIFIED: that username holds the login name.
-- UNVERIFIED: the user directory tables. Bamboo embeds Crowd; these are the shapes of Crowd's
-- own schema (a public MySQL dump of Crowd, jtalks-org/jtalks-infra files/default/crowd.sql,
-- commit 6527f02c66d1ce1efb97055e82fec5b829ffc80d, whose rows hold 'T' and 'F' in active) in
-- PostgreSQL's types. reauth reads either membership layout (Jira's or Confluence's), whichever
-- the table has.

-- REMEMBERME_TOKEN: name from the KB; columns UNVERIFIED (Seraph's)
CREATE TABLE REMEMBERME_TOKEN (
    ID bigint NOT NULL,
    CREATED timestamp without time zone,
    TOKEN character varying(255),
    USERNAME character varying(255),
    CONSTRAINT rememberme_token_pkey PRIMARY KEY (ID)
);

-- cwd_user: UNVERIFIED for Bamboo (Crowd's schema)
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
    CONSTRAINT cwd_user_pkey PRIMARY KEY (id)
);

-- cwd_group: UNVERIFIED for Bamboo (Crowd's schema)
CREATE TABLE cwd_group (
    id bigint NOT NULL,
    group_name character varying(255) NOT NULL,
    lower_group_name character varying(255) NOT NULL,
    active character(1) NOT NULL,
    is_local character(1) NOT NULL,
    created_date timestamp without time zone NOT NULL,
    updated_date timestamp without time zone NOT NULL,
    description character varying(255),
    group_type character varying(32) NOT NULL,
    directory_id bigint NOT NULL,
    CONSTRAINT cwd_group_pkey PRIMARY KEY (id)
);

-- cwd_membership: UNVERIFIED for Bamboo (Crowd's schema)
CREATE TABLE cwd_membership (
    id bigint NOT NULL,
    parent_id bigint NOT NULL,
    child_id bigint NOT NULL,
    membership_type character varying(32),
    group_type character varying(32) NOT NULL,
    parent_name character varying(255) NOT NULL,
    lower_parent_name character varying(255) NOT NULL,
    child_name character varying(255) NOT NULL,
    lower_child_name character varying(255) NOT NULL,
    directory_id bigint NOT NULL,
    CONSTRAINT cwd_membership_pkey PRIMARY KEY (id)
);
