// Package gitlab is reauth's adapter for GitLab Self-Managed, whose web sessions live in Redis
// and whose remember-me state is one column of PostgreSQL's users table. It is responsible for:
//
//   - connecting to GitLab's Redis (OpenRedis: redis://, rediss://, unix:// URLs);
//   - finding the Redis and PostgreSQL connections in an Omnibus node's Rails config files
//     (ParseDatabaseYML, ParseRedisYML);
//   - resolving users by username and groups' members the way GitLab's documented group script
//     collects them (Store.Users, Store.GroupMembers);
//   - listing a user's sessions from GitLab's Redis keys, in every record format GitLab has
//     written (Store.Sessions);
//   - revoking sessions and remember-me the way GitLab's own methods do, in GitLab's order,
//     with a second pass for what in-flight requests write back (Store.Revoke, Store.RevokeAll);
//   - applying GitLab's 100-sessions cap, or an age limit, on demand (Store.Prune);
//   - proving the result independently of the revocation (Store.Verify).
//
// The Redis keys (namespaces from GitLab's lib/gitlab/redis/sessions.rb):
//
//	session:gitlab:<private_id>                      Rails session (Ruby Marshal); deleting it logs the browser out
//	session:user:gitlab::v2:<user_id>:<private_id>   session record, "v2:" + JSON (note the double colon)
//	session:user:gitlab:<user_id>:<session_id>       session record, legacy Ruby Marshal
//	session:lookup:user:gitlab:<user_id>             SET of the user's session ids
//
// where private_id is "2::" + hex(sha256(public id)) and the public id is the _gitlab_session
// cookie's value. Keys under session:lookup:ip:gitlab2: and session:otp:, and everything
// outside the three session namespaces, are never touched.
//
// Revoking sessions leaves personal, project and group access tokens, deploy tokens, SSH keys
// and OAuth tokens working: they are not sessions.
package gitlab
