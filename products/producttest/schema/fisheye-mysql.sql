-- Fisheye/Crucible on MySQL: the candidate remember-me table and its user table.
--
-- Names from the public JPA model of a Crucible database (beniben87/crucibleReport,
-- src/main/java/be/beniben/cruciblemodel/CruLoginCookie.java and CruUser.java, commit
-- d2a6a382c11d8e9a833a208fac920dc68871b232); see fisheye-postgres.sql for what is UNVERIFIED:
-- the table's role (a candidate the operator confirms), the SQL types, the unit of
-- CRU_CREATE_DATE.

-- CRU_USER: crucibleReport's CruUser (types UNVERIFIED)
CREATE TABLE `CRU_USER` (
  `CRU_USER_ID` bigint NOT NULL,
  `CRU_USER_NAME` varchar(255) DEFAULT NULL,
  `CRU_FAILEDLOGINCOUNT` decimal(19,0) DEFAULT NULL,
  `CRU_PASSWORDRESET_SRND` varchar(255) DEFAULT NULL,
  `CRU_PASSWORDRESETTIMESTAMP` decimal(19,0) DEFAULT NULL,
  PRIMARY KEY (`CRU_USER_ID`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- CRU_LOGIN_COOKIE: crucibleReport's CruLoginCookie (types UNVERIFIED)
CREATE TABLE `CRU_LOGIN_COOKIE` (
  `CRU_LOGIN_COOKIE_ID` bigint NOT NULL,
  `CRU_USER_ID` bigint DEFAULT NULL,
  `CRU_CREATE_DATE` decimal(19,0) DEFAULT NULL,
  `CRU_RND` varchar(255) DEFAULT NULL,
  `CRU_TYPE` decimal(19,0) DEFAULT NULL,
  `CRU_URL` varchar(255) DEFAULT NULL,
  `CRU_RECURSIVE_URL` decimal(19,0) DEFAULT NULL,
  PRIMARY KEY (`CRU_LOGIN_COOKIE_ID`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
