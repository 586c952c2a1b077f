-- Fisheye/Crucible on PostgreSQL: the candidate remember-me table and its user table.
--
-- Source of the names: a public JPA model of a Crucible database, beniben87/crucibleReport,
-- src/main/java/be/beniben/cruciblemodel/CruLoginCookie.java and CruUser.java (commit
-- d2a6a382c11d8e9a833a208fac920dc68871b232): @Table(name="CRU_LOGIN_COOKIE") with
-- CRU_LOGIN_COOKIE_ID (long, @Id), CRU_CREATE_DATE, CRU_RECURSIVE_URL and CRU_TYPE (BigDecimal),
-- CRU_RND and CRU_URL (String), CRU_USER_ID (@ManyToOne CruUser); @Table(name="CRU_USER") with
-- CRU_USER_ID (long, @Id), CRU_USER_NAME (String), CRU_FAILEDLOGINCOUNT,
-- CRU_PASSWORDRESETTIMESTAMP (BigDecimal), CRU_PASSWORDRESET_SRND (String).
--
-- UNVERIFIED: that CRU_LOGIN_COOKIE is what the "remember" cookie refers to (it fits Atlassian's
-- description of the cookie, an identifier and a random string; reauth treats it as a candidate
-- the operator must confirm with table:); the SQL types (the model gives Java types only: long
-- is bigint, BigDecimal numeric, String varchar); the unit of CRU_CREATE_DATE (epoch
-- milliseconds assumed); whether the names were created quoted (upper case) or folded to lower
-- case as here.

-- CRU_USER: crucibleReport's CruUser (types UNVERIFIED)
CREATE TABLE cru_user (
    cru_user_id bigint NOT NULL,
    cru_user_name character varying(255),
    cru_failedlogincount numeric(19,0),
    cru_passwordreset_srnd character varying(255),
    cru_passwordresettimestamp numeric(19,0),
    CONSTRAINT cru_user_pkey PRIMARY KEY (cru_user_id)
);

-- CRU_LOGIN_COOKIE: crucibleReport's CruLoginCookie (types UNVERIFIED)
CREATE TABLE cru_login_cookie (
    cru_login_cookie_id bigint NOT NULL,
    cru_user_id bigint,
    cru_create_date numeric(19,0),
    cru_rnd character varying(255),
    cru_type numeric(19,0),
    cru_url character varying(255),
    cru_recursive_url numeric(19,0),
    CONSTRAINT cru_login_cookie_pkey PRIMARY KEY (cru_login_cookie_id)
);
