package gitlab_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// [2] A group revocation takes exactly the users GitLab's group script collects: members of the
// group and its ancestors, members of groups shared into them, members_with_parents of groups
// shared into the group, direct members of every subgroup and members_with_parents of groups
// shared into subgroups; not invitations, access requests, minimal access, awaiting members
// (except a subgroup's, which the script's Group#members includes), blocked or deactivated
// users, bots, project members, or members of unrelated groups. Revoking them leaves
// everybody else's sessions and remember-me alone.
func TestGroupMembersRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	gl := e.gl
	bot := gitlabtest.ProjectBot
	support := gitlabtest.SupportBot

	// The tree: acme > eng (G) > backend > db, and acme > sales.
	acme := gl.AddGroup("acme", 0)
	eng := gl.AddGroup("eng", acme)
	backend := gl.AddGroup("backend", eng)
	dbGroup := gl.AddGroup("db", backend)
	sales := gl.AddGroup("sales", acme)
	// vendors > contractors is shared into G; qa is shared into contractors.
	vendors := gl.AddGroup("vendors", 0)
	contractors := gl.AddGroup("contractors", vendors)
	qa := gl.AddGroup("qa", 0)
	// ext > auditors is shared into acme (G's ancestor).
	ext := gl.AddGroup("ext", 0)
	auditors := gl.AddGroup("auditors", ext)
	// partners > contract is shared into backend (a subgroup); partners-qa into contract.
	partners := gl.AddGroup("partners", 0)
	contract := gl.AddGroup("contract", partners)
	partnersQA := gl.AddGroup("partners-qa", 0)
	// legal is shared into sales (not G's tree); G is shared into outside (the other way).
	legal := gl.AddGroup("legal", 0)
	outside := gl.AddGroup("outside", 0)
	gl.Share(eng, contractors, gitlabtest.Developer)
	gl.Share(contractors, qa, gitlabtest.Reporter)
	gl.Share(acme, auditors, gitlabtest.Reporter)
	gl.Share(backend, contract, gitlabtest.Developer)
	gl.Share(contract, partnersQA, gitlabtest.Guest)
	gl.Share(sales, legal, gitlabtest.Developer)
	gl.Share(outside, eng, gitlabtest.Developer)

	in := map[string]bool{}
	ids := map[string]int64{}
	add := func(name string, want bool, spec gitlabtest.UserSpec) int64 {
		spec.Remember = true
		id := gl.AddUser(name, spec)
		ids[name] = id
		in[name] = want
		return id
	}
	member := func(group int64, name string, access int, spec gitlabtest.MemberSpec) {
		gl.AddMember(group, ids[name], access, spec)
	}
	none := gitlabtest.MemberSpec{}
	dev := gitlabtest.Developer

	add("top-owner", true, gitlabtest.UserSpec{})
	member(acme, "top-owner", gitlabtest.Owner, none)
	add("g-dev", true, gitlabtest.UserSpec{})
	member(eng, "g-dev", dev, none)
	add("g-guest", true, gitlabtest.UserSpec{})
	member(eng, "g-guest", gitlabtest.Guest, none)
	add("g-null-type", true, gitlabtest.UserSpec{NullType: true})
	member(eng, "g-null-type", dev, none)
	add("g-and-sales", true, gitlabtest.UserSpec{})
	member(eng, "g-and-sales", dev, none)
	member(sales, "g-and-sales", dev, none)
	add("g-minimal", false, gitlabtest.UserSpec{})
	member(eng, "g-minimal", gitlabtest.MinimalAccess, none)
	add("g-request", false, gitlabtest.UserSpec{})
	member(eng, "g-request", dev, gitlabtest.MemberSpec{Requested: true})
	add("g-invited", false, gitlabtest.UserSpec{}) // invited by email, not accepted: no user_id
	gl.AddMember(eng, 0, dev, gitlabtest.MemberSpec{InviteToken: true})
	add("g-invite-token", false, gitlabtest.UserSpec{}) // a row with both (not normally written)
	member(eng, "g-invite-token", dev, gitlabtest.MemberSpec{InviteToken: true})
	add("g-awaiting", false, gitlabtest.UserSpec{})
	member(eng, "g-awaiting", dev, gitlabtest.MemberSpec{State: 1})
	add("g-blocked", false, gitlabtest.UserSpec{State: "blocked"})
	member(eng, "g-blocked", dev, none)
	add("g-deactivated", false, gitlabtest.UserSpec{State: "deactivated"})
	member(eng, "g-deactivated", dev, none)
	add("g-bot", false, gitlabtest.UserSpec{UserType: &bot})
	member(eng, "g-bot", gitlabtest.Maintainer, none)
	add("g-support-bot", false, gitlabtest.UserSpec{UserType: &support})
	member(eng, "g-support-bot", dev, none)
	add("project-member", false, gitlabtest.UserSpec{}) // a project whose id equals G's
	member(eng, "project-member", dev, gitlabtest.MemberSpec{SourceType: "Project"})

	add("backend-dev", true, gitlabtest.UserSpec{})
	member(backend, "backend-dev", dev, none)
	add("db-dev", true, gitlabtest.UserSpec{})
	member(dbGroup, "db-dev", gitlabtest.Guest, none)
	add("backend-awaiting", true, gitlabtest.UserSpec{}) // Group#members of a subgroup has no state filter
	member(backend, "backend-awaiting", dev, gitlabtest.MemberSpec{State: 1})
	add("backend-minimal", false, gitlabtest.UserSpec{})
	member(backend, "backend-minimal", gitlabtest.MinimalAccess, none)
	add("backend-request", false, gitlabtest.UserSpec{})
	member(backend, "backend-request", dev, gitlabtest.MemberSpec{Requested: true})
	add("backend-blocked", false, gitlabtest.UserSpec{State: "blocked"})
	member(backend, "backend-blocked", dev, none)
	add("backend-bot", false, gitlabtest.UserSpec{UserType: &bot})
	member(backend, "backend-bot", dev, none)

	add("contractor", true, gitlabtest.UserSpec{})
	member(contractors, "contractor", dev, none)
	add("contractor-minimal", false, gitlabtest.UserSpec{})
	member(contractors, "contractor-minimal", gitlabtest.MinimalAccess, none)
	add("vendor", true, gitlabtest.UserSpec{}) // members_with_parents of a group shared into G
	member(vendors, "vendor", dev, none)
	add("qa-dev", true, gitlabtest.UserSpec{}) // shared into a group shared into G
	member(qa, "qa-dev", dev, none)
	add("auditor", true, gitlabtest.UserSpec{}) // shared into G's ancestor
	member(auditors, "auditor", gitlabtest.Reporter, none)
	add("ext-admin", false, gitlabtest.UserSpec{}) // parent of a group shared into the ancestor
	member(ext, "ext-admin", gitlabtest.Owner, none)
	add("contract-dev", true, gitlabtest.UserSpec{}) // shared into a subgroup
	member(contract, "contract-dev", dev, none)
	add("partner", true, gitlabtest.UserSpec{}) // its parent
	member(partners, "partner", dev, none)
	add("partner-qa", true, gitlabtest.UserSpec{}) // shared into the group shared into the subgroup
	member(partnersQA, "partner-qa", dev, none)
	add("partner-request", false, gitlabtest.UserSpec{})
	member(partners, "partner-request", dev, gitlabtest.MemberSpec{Requested: true})

	add("sales-dev", false, gitlabtest.UserSpec{})
	member(sales, "sales-dev", dev, none)
	add("legal-dev", false, gitlabtest.UserSpec{})
	member(legal, "legal-dev", dev, none)
	add("outside-dev", false, gitlabtest.UserSpec{})
	member(outside, "outside-dev", dev, none)
	add("nobody", false, gitlabtest.UserSpec{})

	var want []string
	for name, ok := range in {
		if ok {
			want = append(want, name)
		}
	}
	sort.Strings(want)

	for _, ident := range []string{"acme/eng", "ACME/Eng", "/acme/eng/", strconv.FormatInt(eng, 10)} {
		members, err := e.store.GroupMembers(ctx, ident)
		if err != nil {
			t.Fatalf("GroupMembers(%q): %v", ident, err)
		}
		var got []string
		for _, u := range members {
			got = append(got, u.Username)
		}
		if !slices.Equal(got, want) {
			t.Errorf("GroupMembers(%q) =\n\t%v\nwant\n\t%v\nmissing %v, extra %v", ident, got, want, diff(want, got), diff(got, want))
		}
	}
	for _, ident := range []string{"acme/nope", "top-owner", "999999", "", "eng"} {
		if _, err := e.store.GroupMembers(ctx, ident); !errors.Is(err, gitlab.ErrUnknownGroup) {
			t.Errorf("GroupMembers(%q) error = %v; want ErrUnknownGroup", ident, err)
		}
	}

	// Everybody has a session and remember-me; revoke the group's members.
	rdb := e.redis.Client
	sessions := map[string]gitlabtest.Written{}
	for name, id := range ids {
		sessions[name] = gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: id})
	}
	keep := gitlabtest.WriteNonSession(t, rdb)
	before := gitlabtest.Dump(t, rdb, e.allKeys(t)...)
	members, err := e.store.GroupMembers(ctx, "acme/eng")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.store.Revoke(ctx, members, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(want) {
		t.Errorf("Revoke returned %d users; want %d", len(res), len(want))
	}
	for _, r := range res {
		if r.Sessions != 1 || !r.RememberCleared {
			t.Errorf("Revoke: %+v; want 1 session and remember-me cleared", r)
		}
	}
	for name, id := range ids {
		w := sessions[name]
		var kept []string
		for _, k := range w.Keys {
			if rdb.Exists(ctx, k).Val() == 1 {
				kept = append(kept, k)
			}
		}
		remember := gl.RememberCreatedAt(id) != nil
		if in[name] {
			if len(kept) > 0 || remember || len(e.userKeys(t, id)) > 0 {
				t.Errorf("%s (a member) kept keys %v, remember-me %v", name, kept, remember)
			}
			continue
		}
		if len(kept) != len(w.Keys) || !remember {
			t.Errorf("%s (not a member) lost a session or remember-me: kept %d of %d keys, remember-me %v", name, len(kept), len(w.Keys), remember)
		}
		if after := gitlabtest.Dump(t, rdb, w.Keys...); !sameDump(after, subset(before, w.Keys)) {
			t.Errorf("%s's session changed", name)
		}
	}
	if after := gitlabtest.Dump(t, rdb, keep...); !sameDump(after, subset(before, keep)) {
		t.Error("non-session keys changed")
	}
}

// diff returns the elements of a not in b.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// A group whose path is a number is found by that path, as GitLab's group script's find_group
// tries the full path before the id: --group 2024 must not revoke the group whose id is 2024.
// A number that is no group's path still finds the group by id.
func TestGroupLookupPathBeforeID(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	gl := e.gl
	byID := gl.AddGroup("platform", 0)
	numbered := gl.AddGroup(strconv.FormatInt(byID, 10), 0) // its path is the other group's id
	alice := gl.AddUser("alice", gitlabtest.UserSpec{})
	bob := gl.AddUser("bob", gitlabtest.UserSpec{})
	gl.AddMember(byID, alice, gitlabtest.Developer, gitlabtest.MemberSpec{})
	gl.AddMember(numbered, bob, gitlabtest.Developer, gitlabtest.MemberSpec{})

	names := func(ident string) []string {
		t.Helper()
		members, err := e.store.GroupMembers(ctx, ident)
		if err != nil {
			t.Fatalf("GroupMembers(%q): %v", ident, err)
		}
		var got []string
		for _, u := range members {
			got = append(got, u.Username)
		}
		return got
	}
	if got := names(strconv.FormatInt(byID, 10)); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("GroupMembers(%q) = %v; want [bob], the members of the group with that path", strconv.FormatInt(byID, 10), got)
	}
	if got := names(strconv.FormatInt(numbered, 10)); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("GroupMembers(%q) = %v; want [bob], the group with that id (no group has it as path)", strconv.FormatInt(numbered, 10), got)
	}
	if got := names("platform"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("GroupMembers(platform) = %v; want [alice]", got)
	}
}
