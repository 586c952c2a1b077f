-- discovery: tables in the default schema
SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\_%' AND table_type = 'BASE TABLE';

-- discovery: tables in a configured schema
SELECT table_schema, table_name FROM information_schema.tables WHERE LOWER(table_schema) = LOWER($1) AND table_type = 'BASE TABLE';
-- args: [public]

-- discovery: columns
SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position;
-- args: [public remembermetoken]

-- discovery: primary key
SELECT k.column_name FROM information_schema.table_constraints c JOIN information_schema.key_column_usage k ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = $1 AND c.table_name = $2 ORDER BY k.ordinal_position;
-- args: [public remembermetoken]

-- count: all
SELECT COUNT(*) FROM "public"."remembermetoken";

-- count: in scope
SELECT COUNT(*) FROM "public"."remembermetoken" WHERE "username" IN ($1, $2) AND ("username" IS NULL OR "username" NOT IN ($3)) AND "created" < $4;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- count: stored names compared code point for code point, whatever the collation
SELECT COUNT(*) FROM "public"."remembermetoken" WHERE "username" IN ($1, $2) AND ("username" IS NULL OR "username" NOT IN ($3));
-- args: [Alice alice root]

-- select in scope: backup, one consistent read
SELECT "id", "created", "token", "username" FROM "public"."remembermetoken" WHERE "username" IN ($1, $2) AND ("username" IS NULL OR "username" NOT IN ($3)) AND "created" < $4 ORDER BY "id";
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- sessions list: tokens per user
SELECT "username", COUNT(*), MIN("created"), MAX("created") FROM "public"."remembermetoken" WHERE "username" IN ($1, $2) AND ("username" IS NULL OR "username" NOT IN ($3)) AND "created" < $4 GROUP BY "username";
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- select in scope: one clear batch after key 10500
SELECT "id", "created", "token", "username" FROM "public"."remembermetoken" WHERE "username" IN ($1, $2) AND ("username" IS NULL OR "username" NOT IN ($3)) AND "created" < $4 AND "id" > $5 ORDER BY "id" LIMIT 500;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC 10500]

-- delete a batch: scope and key range
DELETE FROM "public"."remembermetoken" WHERE "username" IN ($1, $2) AND ("username" IS NULL OR "username" NOT IN ($3)) AND "created" < $4 AND "id" > $5 AND "id" <= $6;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC 10500 11000]

-- clear of every row by pages: version, pages, estimated rows
SELECT current_setting('server_version_num')::int, pg_relation_size(CAST($1 AS regclass)) / current_setting('block_size')::bigint, (SELECT reltuples::float8 FROM pg_class WHERE oid = CAST($1 AS regclass));
-- args: ["public"."remembermetoken"]

-- clear by pages: read a batch of pages
SELECT "id", "created", "token", "username" FROM "public"."remembermetoken" WHERE ctid >= CAST($1 AS tid) AND ctid < CAST($2 AS tid);
-- args: [(120,0) (240,0)]

-- clear by pages: delete it
DELETE FROM "public"."remembermetoken" WHERE ctid >= CAST($1 AS tid) AND ctid < CAST($2 AS tid);
-- args: [(120,0) (240,0)]

-- clear by pages: read the pages from 240 to the end
SELECT "id", "created", "token", "username" FROM "public"."remembermetoken" WHERE ctid >= CAST($1 AS tid);
-- args: [(240,0)]

-- clear by pages: read every row left (the last batch)
SELECT "id", "created", "token", "username" FROM "public"."remembermetoken";

-- clear by pages: delete it
DELETE FROM "public"."remembermetoken";

-- lock the table against other reauth processes, without waiting
SELECT CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END;
-- args: [-8250070991472021529]

-- release it
SELECT pg_advisory_unlock($1);
-- args: [-8250070991472021529]

-- delete a batch by its keys (when rows were inserted into its range)
DELETE FROM "public"."remembermetoken" WHERE "id" IN ($1, $2, $3);
-- args: [10501 10502 10503]

-- restore: keys already present
SELECT "id" FROM "public"."remembermetoken" WHERE "id" IN ($1, $2);
-- args: [1 2]

-- restore: insert two rows
INSERT INTO "public"."remembermetoken" ("id", "created", "token", "username") VALUES ($1, $2, $3, $4), ($5, $6, $7, $8);

-- quoting: hostile identifiers
INSERT INTO "we""ird"."t`a]ble" ("c""ol") VALUES ($1);

-- delete strategy: in snapshot, ordered delete: false, returning delete: false, defer purge: false, pages: true, isolation: Repeatable Read, default batch: 50000, max params: 65535, max IN list: 1000, insert batch for 4 columns: 1000, for 7: 1000
