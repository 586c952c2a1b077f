package gitlabtest

import (
	"context"
	"database/sql"
	"errors"
	"github.com/reauth/reauth/internal/harness"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db/dbtest"
)

// schemaDDL is GitLab's layout of the tables reauth reads and writes, as db/structure.sql
// (init_structure.sql) declares them: every column reauth uses has GitLab's name, type,
// nullability and default, and a few neighbouring columns are kept so that the rows look like
// GitLab's. users.user_type is nullable, as on the old instances that still hold NULL for
// humans (newer GitLab declares it NOT NULL DEFAULT 0).
const schemaDDL = `
CREATE SEQUENCE users_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE TABLE users (
    id bigint DEFAULT nextval('users_id_seq'::regclass) NOT NULL,
    email character varying DEFAULT ''::character varying NOT NULL,
    encrypted_password character varying DEFAULT ''::character varying NOT NULL,
    reset_password_token character varying,
    reset_password_sent_at timestamp without time zone,
    remember_created_at timestamp without time zone,
    current_sign_in_at timestamp without time zone,
    last_sign_in_at timestamp without time zone,
    current_sign_in_ip character varying,
    last_sign_in_ip character varying,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    name character varying,
    admin boolean DEFAULT false NOT NULL,
    projects_limit integer NOT NULL,
    failed_attempts integer DEFAULT 0,
    locked_at timestamp without time zone,
    username character varying,
    can_create_group boolean DEFAULT true NOT NULL,
    state character varying,
    user_type smallint DEFAULT 0
);
ALTER TABLE ONLY users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX index_users_on_username ON users USING btree (username);
CREATE INDEX index_users_on_state_and_user_type ON users USING btree (state, user_type);

CREATE SEQUENCE namespaces_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE TABLE namespaces (
    id bigint DEFAULT nextval('namespaces_id_seq'::regclass) NOT NULL,
    name character varying NOT NULL,
    path character varying NOT NULL,
    owner_id bigint,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    type character varying DEFAULT 'User'::character varying NOT NULL,
    description character varying DEFAULT ''::character varying NOT NULL,
    visibility_level integer DEFAULT 20 NOT NULL,
    request_access_enabled boolean DEFAULT true NOT NULL,
    parent_id bigint,
    traversal_ids bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    organization_id bigint
);
ALTER TABLE ONLY namespaces ADD CONSTRAINT namespaces_pkey PRIMARY KEY (id);
CREATE INDEX index_namespaces_on_traversal_ids ON namespaces USING btree (traversal_ids);

CREATE SEQUENCE members_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE TABLE members (
    id bigint DEFAULT nextval('members_id_seq'::regclass) NOT NULL,
    access_level integer NOT NULL,
    source_id bigint NOT NULL,
    source_type character varying NOT NULL,
    user_id bigint,
    notification_level integer NOT NULL,
    type character varying NOT NULL,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    created_by_id bigint,
    invite_email character varying,
    invite_token character varying,
    invite_accepted_at timestamp without time zone,
    requested_at timestamp without time zone,
    expires_at date,
    ldap boolean DEFAULT false NOT NULL,
    override boolean DEFAULT false NOT NULL,
    state smallint DEFAULT 0,
    invite_email_success boolean DEFAULT true NOT NULL,
    member_namespace_id bigint,
    member_role_id bigint,
    CONSTRAINT check_508774aac0 CHECK ((member_namespace_id IS NOT NULL))
);
ALTER TABLE ONLY members ADD CONSTRAINT members_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX index_members_on_invite_token ON members USING btree (invite_token);
CREATE INDEX index_members_on_source_id_and_source_type ON members USING btree (source_id, source_type);
CREATE INDEX index_members_on_user_id_source_id_source_type ON members USING btree (user_id, source_id, source_type);

CREATE SEQUENCE group_group_links_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE TABLE group_group_links (
    id bigint DEFAULT nextval('group_group_links_id_seq'::regclass) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    shared_group_id bigint NOT NULL,
    shared_with_group_id bigint NOT NULL,
    expires_at date,
    group_access smallint DEFAULT 30 NOT NULL,
    member_role_id bigint
);
ALTER TABLE ONLY group_group_links ADD CONSTRAINT group_group_links_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX index_group_group_links_on_shared_group_and_shared_with_group ON group_group_links USING btree (shared_group_id, shared_with_group_id);

CREATE SEQUENCE routes_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE TABLE routes (
    id bigint DEFAULT nextval('routes_id_seq'::regclass) NOT NULL,
    source_id bigint NOT NULL,
    source_type character varying NOT NULL,
    path character varying NOT NULL,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    name character varying,
    namespace_id bigint,
    CONSTRAINT check_af84c6c93f CHECK ((namespace_id IS NOT NULL))
);
ALTER TABLE ONLY routes ADD CONSTRAINT routes_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX index_routes_on_path ON routes USING btree (path);
CREATE UNIQUE INDEX index_routes_on_source_type_and_source_id ON routes USING btree (source_type, source_id);
`

// Access levels (Gitlab::Access).
const (
	NoAccess      = 0
	MinimalAccess = 5
	Guest         = 10
	Reporter      = 20
	Developer     = 30
	Maintainer    = 40
	Owner         = 50
)

// User types (users.user_type).
const (
	Human       = 0
	SupportBot  = 1
	ProjectBot  = 6
	ServiceUser = 4
)

// GitLab is a database holding GitLab's tables, with helpers that add rows the way GitLab
// writes them.
type GitLab struct {
	Pool *sql.DB // logged in as the test user, outside reauth's db.Open
	t    testing.TB
}

// Schema creates GitLab's tables in d and returns helpers to fill them.
func Schema(t testing.TB, d *dbtest.Database) *GitLab {
	t.Helper()
	d.Exec(t, schemaDDL)
	return &GitLab{Pool: d.Open(t), t: t}
}

func (g *GitLab) exec(q string, args ...any) {
	g.t.Helper()
	if _, err := g.Pool.ExecContext(context.Background(), q, args...); err != nil {
		g.t.Fatalf("gitlabtest: %s: %v", strings.Join(strings.Fields(q), " "), err)
	}
}

func (g *GitLab) id(q string, args ...any) int64 {
	g.t.Helper()
	var id int64
	if err := g.Pool.QueryRowContext(context.Background(), q, args...).Scan(&id); err != nil {
		g.t.Fatalf("gitlabtest: %s: %v", strings.Join(strings.Fields(q), " "), err)
	}
	return id
}

// UserSpec describes a user row. The zero value is an active human.
type UserSpec struct {
	State    string // "active" when empty
	UserType *int   // nil: 0 (human)
	NullType bool   // user_type NULL, as very old instances hold for humans
	Remember bool   // remember_created_at set (to an hour ago)
}

// AddUser inserts a user with its personal namespace and route, and returns its id.
func (g *GitLab) AddUser(username string, spec UserSpec) int64 {
	g.t.Helper()
	state := spec.State
	if state == "" {
		state = "active"
	}
	var userType any = Human
	if spec.UserType != nil {
		userType = *spec.UserType
	}
	if spec.NullType {
		userType = nil
	}
	var remember any
	if spec.Remember {
		remember = time.Now().UTC().Add(-time.Hour)
	}
	id := g.id(`INSERT INTO users (email, encrypted_password, username, name, state, user_type, projects_limit,
		remember_created_at, created_at, updated_at)
		VALUES ($1, '$2a$10$0123456789012345678901uvwxyzABCDEFGHIJKLMNOPQRSTUVWXY', $2, $2, $3, $4, 100000, $5,
		now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC') RETURNING id`,
		username+"@example.com", username, state, userType, remember)
	ns := g.id(`INSERT INTO namespaces (name, path, owner_id, type, created_at, updated_at)
		VALUES ($1, $1, $2, 'User', now(), now()) RETURNING id`, username, id)
	g.exec(`UPDATE namespaces SET traversal_ids = ARRAY[id] WHERE id = $1`, ns)
	g.exec(`INSERT INTO routes (source_id, source_type, path, name, namespace_id, created_at, updated_at)
		VALUES ($1, 'Namespace', $2, $2, $1, now(), now())`, ns, username)
	return id
}

// AddGroup inserts a group under parent (0: top level) with its route (the full path) and
// traversal_ids, and returns its id.
func (g *GitLab) AddGroup(path string, parent int64) int64 {
	g.t.Helper()
	var parentArg any
	fullPath := path
	if parent != 0 {
		parentArg = parent
		var pp string
		if err := g.Pool.QueryRow(`SELECT path FROM routes WHERE source_type = 'Namespace' AND source_id = $1`, parent).Scan(&pp); err != nil {
			g.t.Fatalf("gitlabtest: route of group %d: %v", parent, err)
		}
		fullPath = pp + "/" + path
	}
	id := g.id(`INSERT INTO namespaces (name, path, type, parent_id, visibility_level, created_at, updated_at)
		VALUES ($1, $1, 'Group', $2, 0, now(), now()) RETURNING id`, path, parentArg)
	// traversal_ids: the parent's, then the group's own id.
	g.exec(`UPDATE namespaces SET traversal_ids =
		COALESCE((SELECT p.traversal_ids FROM namespaces p WHERE p.id = namespaces.parent_id), '{}'::bigint[]) || id
		WHERE id = $1`, id)
	g.exec(`INSERT INTO routes (source_id, source_type, path, name, namespace_id, created_at, updated_at)
		VALUES ($1, 'Namespace', $2, $2, $1, now(), now())`, id, fullPath)
	return id
}

// MemberSpec describes a members row beyond its group, user and access level.
type MemberSpec struct {
	State       int  // 0 active, 1 awaiting
	Requested   bool // an access request (requested_at set)
	InviteToken bool // an invitation not yet accepted (invite_token set)
	SourceType  string
}

// AddMember makes user (0: nobody, as an email invitation) a member of the group.
func (g *GitLab) AddMember(group, user int64, access int, spec MemberSpec) {
	g.t.Helper()
	var userArg, requested, token, email any
	if user != 0 {
		userArg = user
	}
	if spec.Requested {
		requested = time.Now().UTC().Add(-time.Hour)
	}
	if spec.InviteToken {
		token = harness.RandomHex(10)
		email = "invitee-" + harness.RandomHex(4) + "@example.com"
	}
	sourceType := spec.SourceType
	if sourceType == "" {
		sourceType = "Namespace"
	}
	memberType := "GroupMember"
	if sourceType == "Project" {
		memberType = "ProjectMember"
	}
	g.exec(`INSERT INTO members (access_level, source_id, source_type, user_id, notification_level, type,
		created_at, updated_at, invite_email, invite_token, requested_at, state, member_namespace_id)
		VALUES ($1, $2, $3, $4, 3, $5, now(), now(), $6, $7, $8, $9, $2)`,
		access, group, sourceType, userArg, memberType, email, token, requested, spec.State)
}

// Share shares group with another group (a group_group_links row: the members of with get
// access to group).
func (g *GitLab) Share(group, with int64, access int) {
	g.t.Helper()
	g.exec(`INSERT INTO group_group_links (created_at, updated_at, shared_group_id, shared_with_group_id, group_access)
		VALUES (now(), now(), $1, $2, $3)`, group, with, access)
}

// RememberCreatedAt returns the user's remember_created_at (nil when NULL).
func (g *GitLab) RememberCreatedAt(user int64) *time.Time {
	g.t.Helper()
	var t sql.NullTime
	err := g.Pool.QueryRow(`SELECT remember_created_at FROM users WHERE id = $1`, user).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		g.t.Fatalf("gitlabtest: no user %d", user)
	}
	if err != nil {
		g.t.Fatalf("gitlabtest: remember_created_at of %d: %v", user, err)
	}
	if !t.Valid {
		return nil
	}
	return &t.Time
}

// WithRemember returns the ids of the users whose remember_created_at is set, sorted.
func (g *GitLab) WithRemember() []int64 {
	g.t.Helper()
	rows, err := g.Pool.Query(`SELECT id FROM users WHERE remember_created_at IS NOT NULL ORDER BY id`)
	if err != nil {
		g.t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			g.t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
