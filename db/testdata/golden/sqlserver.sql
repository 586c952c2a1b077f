-- discovery: tables in the default schema
SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA NOT IN ('sys', 'INFORMATION_SCHEMA') AND TABLE_TYPE = 'BASE TABLE';

-- discovery: tables in a configured schema
SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE LOWER(TABLE_SCHEMA) = LOWER(@p1) AND TABLE_TYPE = 'BASE TABLE';
-- args: [public]

-- discovery: columns
SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2 ORDER BY ORDINAL_POSITION;
-- args: [public remembermetoken]

-- discovery: primary key
SELECT k.COLUMN_NAME FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS c JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND k.TABLE_NAME = c.TABLE_NAME WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' AND c.TABLE_SCHEMA = @p1 AND c.TABLE_NAME = @p2 ORDER BY k.ORDINAL_POSITION;
-- args: [public remembermetoken]

-- count: all
SELECT COUNT(*) FROM [public].[remembermetoken];

-- count: in scope
SELECT COUNT(*) FROM [public].[remembermetoken] WHERE [username] IN (@p1, @p2) AND ([username] IS NULL OR [username] NOT IN (@p3)) AND [created] < @p4;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- count: stored names compared code point for code point, whatever the collation
SELECT COUNT(*) FROM [public].[remembermetoken] WHERE [username] COLLATE Latin1_General_BIN2 IN (@p1, @p2) AND ([username] IS NULL OR [username] COLLATE Latin1_General_BIN2 NOT IN (@p3));
-- args: [Alice alice root]

-- select in scope: backup, one consistent read
SELECT [id], [created], [token], [username] FROM [public].[remembermetoken] WHERE [username] IN (@p1, @p2) AND ([username] IS NULL OR [username] NOT IN (@p3)) AND [created] < @p4 ORDER BY [id];
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- sessions list: tokens per user
SELECT [username] COLLATE Latin1_General_BIN2, COUNT(*), MIN([created]), MAX([created]) FROM [public].[remembermetoken] WHERE [username] IN (@p1, @p2) AND ([username] IS NULL OR [username] NOT IN (@p3)) AND [created] < @p4 GROUP BY [username] COLLATE Latin1_General_BIN2;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC]

-- select in scope: one clear batch after key 10500
SELECT TOP (500) [id], [created], [token], [username] FROM [public].[remembermetoken] WITH (UPDLOCK, ROWLOCK) WHERE [username] IN (@p1, @p2) AND ([username] IS NULL OR [username] NOT IN (@p3)) AND [created] < @p4 AND [id] > @p5 ORDER BY [id];
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC 10500]

-- delete a batch: scope and key range
DELETE FROM [public].[remembermetoken] WHERE [username] IN (@p1, @p2) AND ([username] IS NULL OR [username] NOT IN (@p3)) AND [created] < @p4 AND [id] > @p5 AND [id] <= @p6;
-- args: [JIRAUSER10100 alice admin 2026-10-24 10:00:00 +0000 UTC 10500 11000]

-- lock the table against other reauth processes, without waiting
DECLARE @r int; EXEC @r = sp_getapplock @Resource = @p1, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT CASE WHEN @r >= 0 THEN 1 ELSE 0 END;
-- args: [reauth:public.remembermetoken]

-- release it
EXEC sp_releaseapplock @Resource = @p1, @LockOwner = 'Session';
-- args: [reauth:public.remembermetoken]

-- delete a batch by its keys (when rows were inserted into its range)
DELETE FROM [public].[remembermetoken] WHERE [id] IN (@p1, @p2, @p3);
-- args: [10501 10502 10503]

-- restore: keys already present
SELECT [id] FROM [public].[remembermetoken] WHERE [id] IN (@p1, @p2);
-- args: [1 2]

-- restore: insert two rows
INSERT INTO [public].[remembermetoken] ([id], [created], [token], [username]) VALUES (@p1, @p2, @p3, @p4), (@p5, @p6, @p7, @p8);

-- quoting: hostile identifiers
INSERT INTO [we"ird].[t`a]]ble] ([c"ol]) VALUES (@p1);

-- delete strategy: rows locked, ordered delete: false, returning delete: false, defer purge: false, pages: false, isolation: Read Committed, default batch: 4000, max params: 2000, max IN list: 1000, insert batch for 4 columns: 500, for 7: 285
