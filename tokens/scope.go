package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reauth/reauth/db"
)

// ErrScope marks a scope that cannot be applied to a target: an unknown user, or a filter the
// product's table has no column for.
var ErrScope = errors.New("scope")

// Scope says which remember-me rows a command acts on. The zero Scope is every row.
type Scope struct {
	Users     []string      // login names; empty (and no Groups): everyone
	Groups    []string      // groups whose members are in scope, nested groups included
	Except    []string      // login names never touched
	OlderThan time.Duration // 0: any age
	// Now is when ages are measured from; fixed once so that every statement of a run agrees.
	Now time.Time
}

// Cutoff is the creation time before which a row is in scope, when OlderThan is set.
func (s Scope) Cutoff() time.Time { return s.Now.Add(-s.OlderThan).UTC() }

// String describes the scope for people, the audit log and backup manifests.
func (s Scope) String() string {
	var parts []string
	if len(s.Users) > 0 {
		parts = append(parts, "users "+strings.Join(s.Users, ", "))
	}
	if len(s.Groups) > 0 {
		parts = append(parts, "members of "+strings.Join(s.Groups, ", "))
	}
	if len(s.Users) == 0 && len(s.Groups) == 0 {
		parts = append(parts, "all users")
	}
	if len(s.Except) > 0 {
		parts = append(parts, "except "+strings.Join(s.Except, ", "))
	}
	if s.OlderThan > 0 {
		parts = append(parts, fmt.Sprintf("created before %s (older than %s)", s.Cutoff().Format(time.RFC3339), s.OlderThan))
	}
	return strings.Join(parts, "; ")
}

// conditions turns the scope into WHERE conditions on the target's token table. Login names
// are resolved the way the product stores them; a name that matches nobody is an error, so
// that a typo in --except never exposes the account it was meant to protect.
func (c *Conn) conditions(ctx context.Context, s Scope) ([]db.Cond, error) {
	tt := c.Tokens
	conds := c.keep()
	if len(s.Users) > 0 || len(s.Groups) > 0 || len(s.Except) > 0 {
		if tt.User == "" {
			return nil, fmt.Errorf("%w: %s's table %s has no user column: --user, --group and --except cannot apply (set columns.user if it has one)", ErrScope, c.Target.Product.Title, tt.Table)
		}
	}
	if len(s.Users) > 0 || len(s.Groups) > 0 {
		var members []string
		if len(s.Groups) > 0 {
			var err error
			if members, err = c.groupMembers(ctx, s.Groups); err != nil {
				return nil, err
			}
		}
		values, err := c.userValues(ctx, s.Users, members)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c.userIn(values, false))
	}
	if len(s.Except) > 0 {
		values, err := c.userValues(ctx, s.Except, nil)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c.userIn(values, true))
	}
	params := 0
	for _, cd := range conds {
		params += len(cd.Values)
	}
	if limit := c.Target.Dialect.MaxParams - 16; params > limit {
		return nil, fmt.Errorf("%w: the scope names %d users, more than one %s statement can carry (%d): narrow it, or clear everyone with --except", ErrScope, params, c.Target.Dialect.Title, limit)
	}
	if s.OlderThan > 0 {
		if tt.Created == "" {
			return nil, fmt.Errorf("%w: %s's table %s has no creation time: --older-than cannot apply", ErrScope, c.Target.Product.Title, tt.Table)
		}
		if tt.CreatedKind == db.KindTime {
			conds = append(conds, db.Less(tt.Created, s.Cutoff()))
		} else {
			conds = append(conds, db.Less(tt.Created, s.Cutoff().UnixMilli()))
		}
	}
	return conds, nil
}

// keep is the condition that leaves out the rows no scope ever takes (TokenTable.Keep), or none.
func (c *Conn) keep() []db.Cond {
	if c.Tokens.Keep == "" {
		return nil
	}
	return []db.Cond{db.NotIn(c.Tokens.Keep, c.Tokens.KeepValue)}
}

// note records something the plan should say about how the scope was applied.
func (c *Conn) note(s string) {
	for _, n := range c.notes {
		if n == s {
			return
		}
	}
	c.notes = append(c.notes, s)
}

// Notes are what the plan should say about how the scope was applied.
func (c *Conn) Notes() []string { return c.notes }
