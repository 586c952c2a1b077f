-- Bitbucket Data Center on PostgreSQL: the tables reauth reads, as Bitbucket creates them.
--
-- Source: a public pg_dump of a Bitbucket install on PostgreSQL 12 ("Dumped from database
-- version 12.4 (Debian 12.4-1.pgdg100+1)", owner bitbucketuser; it has the Code Insights
-- AO_2AD648_INSIGHT_* tables and cwd_tombstone, so it is a recent Bitbucket). Its repository
-- could not be named: the code index returned the text of the file only. An older public dump
-- (PostgreSQL 9.5.3, tables owned by a templated {{postgresUser}}) has the same columns, with
-- "timestamp with time zone" where this one has "timestamp without time zone". Column names,
-- types and NULL-ability are copied from the CREATE TABLE statements; primary keys (id, and
-- user_id for the user tables) are declared in a later section of the dumps. Bitbucket KB
-- 1319568820 names sta_remember_me_token. Foreign keys sit in the unread section too and are left out.
--
-- sta_remember_me_token.user_id is stash_user.id, which is also sta_normal_user.user_id (people)
-- or sta_service_user.user_id (service users). stash_user has no other column: login names are
-- in sta_normal_user.name, which has no lower-case twin.

-- stash_user: PostgreSQL 12 dump
CREATE TABLE stash_user (
    id integer NOT NULL,
    CONSTRAINT stash_user_pkey PRIMARY KEY (id)
);

-- sta_normal_user: PostgreSQL 12 dump
CREATE TABLE sta_normal_user (
    user_id integer NOT NULL,
    name character varying(255) NOT NULL,
    slug character varying(255) NOT NULL,
    locale character varying(32),
    deleted_timestamp timestamp without time zone,
    time_zone character varying(64),
    CONSTRAINT sta_normal_user_pkey PRIMARY KEY (user_id)
);
COMMENT ON COLUMN sta_normal_user.user_id IS 'joinPrimaryKey';

-- sta_service_user: PostgreSQL 12 dump
CREATE TABLE sta_service_user (
    user_id integer NOT NULL,
    display_name character varying(255) NOT NULL,
    active boolean NOT NULL,
    name character varying(255) NOT NULL,
    slug character varying(255) NOT NULL,
    email_address character varying(255),
    label character varying(128) NOT NULL,
    CONSTRAINT sta_service_user_pkey PRIMARY KEY (user_id)
);

-- sta_remember_me_token: PostgreSQL 12 dump
CREATE TABLE sta_remember_me_token (
    id bigint NOT NULL,
    series character varying(64) NOT NULL,
    token character varying(64) NOT NULL,
    user_id integer NOT NULL,
    expiry_timestamp timestamp without time zone NOT NULL,
    claimed boolean NOT NULL,
    claimed_address character varying(255),
    CONSTRAINT sta_remember_me_token_pkey PRIMARY KEY (id)
);
COMMENT ON COLUMN sta_remember_me_token.user_id IS 'userId';

-- cwd_user: PostgreSQL 12 dump (is_active is 'T' or 'F')
CREATE TABLE cwd_user (
    id bigint NOT NULL,
    user_name character varying(255) NOT NULL,
    lower_user_name character varying(255) NOT NULL,
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
    is_active character(1) NOT NULL,
    external_id character varying(255),
    CONSTRAINT cwd_user_pkey PRIMARY KEY (id)
);

-- cwd_group: PostgreSQL 12 dump
CREATE TABLE cwd_group (
    id bigint NOT NULL,
    group_name character varying(255) NOT NULL,
    lower_group_name character varying(255) NOT NULL,
    created_date timestamp without time zone NOT NULL,
    updated_date timestamp without time zone NOT NULL,
    description character varying(255),
    group_type character varying(32) NOT NULL,
    directory_id bigint NOT NULL,
    is_active character(1) NOT NULL,
    is_local character(1) NOT NULL,
    external_id character varying(255),
    CONSTRAINT cwd_group_pkey PRIMARY KEY (id)
);

-- cwd_membership: PostgreSQL 12 dump (membership_type GROUP_USER or GROUP_GROUP)
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
    CONSTRAINT cwd_membership_pkey PRIMARY KEY (id)
);
