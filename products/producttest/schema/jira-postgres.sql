-- Jira on PostgreSQL: the tables reauth reads, as Jira creates them.
--
-- Source: a pg_dump of Jira 8 ("Dumped from database version 9.4.23"),
-- codeclou-archive/docker-atlassian-jira-data-center, initdb.d/jira-8-postgresql.sql
-- (commit 8397d53dd9b7ca68cab16129ef17ed19d921cb82). Column names, types and NULL-ability are
-- copied from its CREATE TABLE statements. The dump's primary keys sit in a later section that
-- was not read; the MySQL dump of jira-mysql.sql declares PRIMARY KEY (ID) on each of these
-- tables, and the same keys are used here.
--
-- What remembermetoken.username holds: the user key, not the login name (Jira's
-- JiraRememberMeTokenDao: USERKEY = "username", "JRADEV-16974: yup, we're reusing the column
-- for a different purpose"); app_user maps lower_user_name to user_key.

-- remembermetoken: jira-8-postgresql.sql
CREATE TABLE remembermetoken (
    id numeric(18,0) NOT NULL,
    created timestamp with time zone,
    token character varying(255),
    username character varying(255),
    CONSTRAINT pk_remembermetoken PRIMARY KEY (id)
);

-- app_user: jira-8-postgresql.sql
CREATE TABLE app_user (
    id numeric(18,0) NOT NULL,
    user_key character varying(255),
    lower_user_name character varying(255),
    CONSTRAINT pk_app_user PRIMARY KEY (id)
);

-- cwd_user: jira-8-postgresql.sql (active is 1 or 0)
CREATE TABLE cwd_user (
    id numeric(18,0) NOT NULL,
    directory_id numeric(18,0),
    user_name character varying(255),
    lower_user_name character varying(255),
    active numeric(9,0),
    created_date timestamp with time zone,
    updated_date timestamp with time zone,
    first_name character varying(255),
    lower_first_name character varying(255),
    last_name character varying(255),
    lower_last_name character varying(255),
    display_name character varying(255),
    lower_display_name character varying(255),
    email_address character varying(255),
    lower_email_address character varying(255),
    credential character varying(255),
    deleted_externally numeric(9,0),
    external_id character varying(255),
    CONSTRAINT pk_cwd_user PRIMARY KEY (id)
);

-- cwd_group: jira-8-postgresql.sql
CREATE TABLE cwd_group (
    id numeric(18,0) NOT NULL,
    group_name character varying(255),
    lower_group_name character varying(255),
    active numeric(9,0),
    local numeric(9,0),
    created_date timestamp with time zone,
    updated_date timestamp with time zone,
    description character varying(255),
    lower_description character varying(255),
    group_type character varying(60),
    directory_id numeric(18,0),
    CONSTRAINT pk_cwd_group PRIMARY KEY (id)
);

-- cwd_membership: jira-8-postgresql.sql (membership_type GROUP_USER or GROUP_GROUP)
CREATE TABLE cwd_membership (
    id numeric(18,0) NOT NULL,
    parent_id numeric(18,0),
    child_id numeric(18,0),
    membership_type character varying(60),
    group_type character varying(60),
    parent_name character varying(255),
    lower_parent_name character varying(255),
    child_name character varying(255),
    lower_child_name character varying(255),
    directory_id numeric(18,0),
    CONSTRAINT pk_cwd_membership PRIMARY KEY (id)
);

-- cwd_directory: jira-8-postgresql.sql
CREATE TABLE cwd_directory (
    id numeric(18,0) NOT NULL,
    directory_name character varying(255),
    lower_directory_name character varying(255),
    created_date timestamp with time zone,
    updated_date timestamp with time zone,
    active numeric(9,0),
    description character varying(255),
    impl_class character varying(255),
    lower_impl_class character varying(255),
    directory_type character varying(60),
    directory_position numeric(18,0),
    CONSTRAINT pk_cwd_directory PRIMARY KEY (id)
);
