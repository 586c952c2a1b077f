-- discovery: tables in the default schema
SELECT owner, table_name FROM all_tables WHERE owner = SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA');

-- discovery: tables in a configured schema
SELECT owner, table_name FROM all_tables WHERE UPPER(owner) = UPPER(:1);
-- args: [public]

-- discovery: columns
SELECT column_name, data_type FROM all_tab_columns WHERE owner = :1 AND table_name = :2 ORDER BY column_id;
-- args: [public remembermetoken]

-- discovery: primary key
SELECT cc.column_name FROM all_constraints c JOIN all_cons_columns cc ON cc.owner = c.owner AND cc.constraint_name = c.constraint_name WHERE c.constraint_type = 'P' AND c.owner = :1 AND c.table_name = :2 ORDER BY cc.position;
-- args: [public remembermetoken]

-- count: all
SELECT COUNT(*) FROM "public"."remembermetoken";

-- count: in scope
SELECT COUNT(*) FROM "public"."remembermetoken" WHERE "username" IN (:1, :2) AND ("username" IS NULL OR "username" NOT IN (:3)) AND "created" < :4;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- count: stored names compared code point for code point, whatever the collation
SELECT COUNT(*) FROM "public"."remembermetoken" WHERE "username" IN (:1, :2) AND ("username" IS NULL OR "username" NOT IN (:3));
-- args: [Alice alice root]

-- select in scope: backup, one consistent read
SELECT "id", "created", "token", "username" FROM "public"."remembermetoken" WHERE "username" IN (:1, :2) AND ("username" IS NULL OR "username" NOT IN (:3)) AND "created" < :4 ORDER BY "id";
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- sessions list: tokens per user
SELECT "username", COUNT(*), MIN("created"), MAX("created") FROM "public"."remembermetoken" WHERE "username" IN (:1, :2) AND ("username" IS NULL OR "username" NOT IN (:3)) AND "created" < :4 GROUP BY "username";
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- select in scope: one clear batch after key 10500
SELECT "id", "created", "token", "username" FROM "public"."remembermetoken" WHERE ROWID IN (SELECT rid FROM (SELECT ROWID AS rid FROM "public"."remembermetoken" WHERE "username" IN (:1, :2) AND ("username" IS NULL OR "username" NOT IN (:3)) AND "created" < :4 AND "id" > :5 ORDER BY "id") WHERE ROWNUM <= 500) ORDER BY "id" FOR UPDATE;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC 10500]

-- delete a batch: scope and key range
DELETE FROM "public"."remembermetoken" WHERE "username" IN (:1, :2) AND ("username" IS NULL OR "username" NOT IN (:3)) AND "created" < :4 AND "id" > :5 AND "id" <= :6;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC 10500 11000]

-- delete a batch by its keys (when rows were inserted into its range)
DELETE FROM "public"."remembermetoken" WHERE "id" IN (:1, :2, :3);
-- args: [10501 10502 10503]

-- restore: keys already present
SELECT "id" FROM "public"."remembermetoken" WHERE "id" IN (:1, :2);
-- args: [1 2]

-- restore: insert two rows
INSERT ALL INTO "public"."remembermetoken" ("id", "created", "token", "username") VALUES (:1, :2, :3, :4) INTO "public"."remembermetoken" ("id", "created", "token", "username") VALUES (:5, :6, :7, :8) SELECT 1 FROM DUAL;

-- quoting: hostile identifiers
INSERT ALL INTO "we""ird"."t`a]ble" ("c""ol") VALUES (:1) SELECT 1 FROM DUAL;

-- delete strategy: rows locked, ordered delete: false, returning delete: false, defer purge: false, pages: false, isolation: Default, default batch: 10000, max params: 65535, max IN list: 1000, insert batch for 4 columns: 249, for 7: 142
