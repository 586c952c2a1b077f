package db

import (
	"fmt"
	"math/big"
	"slices"
	"time"
)

// CondSpec is a Cond as data: a backup's manifest records the conditions that chose its rows,
// and a restore checks every row of the file against them, so that a file holding rows outside
// its stated scope is refused.
type CondSpec struct {
	Op     string   `json:"op"` // in, not_in, exact_in, exact_not_in, less, greater, at_most
	Column string   `json:"column"`
	Values []string `json:"values"`
}

var opNames = map[condOp]string{
	opIn: "in", opNotIn: "not_in", opExactIn: "exact_in", opExactNotIn: "exact_not_in",
	opLess: "less", opGreater: "greater", opAtMost: "at_most",
}

// Spec is the condition as data; values are written as a backup writes them (times in RFC 3339,
// UTC).
func (c Cond) Spec() CondSpec {
	s := CondSpec{Op: opNames[c.op], Column: c.Column, Values: make([]string, len(c.Values))}
	for i, v := range c.Values {
		switch v := v.(type) {
		case time.Time:
			s.Values[i] = v.UTC().Format(time.RFC3339Nano)
		default:
			s.Values[i] = fmt.Sprint(v)
		}
	}
	return s
}

// Holds reports whether a value of a column of kind k, as a backup holds it (nil for NULL),
// satisfies the condition, as the database would have decided.
func (s CondSpec) Holds(k Kind, v *string) (bool, error) {
	equal := func(x string) (bool, error) {
		for _, w := range s.Values {
			if eq, err := sameValue(k, x, w); err != nil || eq {
				return eq, err
			}
		}
		return false, nil
	}
	switch s.Op {
	case "in", "exact_in":
		if v == nil {
			return false, nil
		}
		return equal(*v)
	case "not_in", "exact_not_in":
		if v == nil {
			return true, nil
		}
		in, err := equal(*v)
		return !in, err
	case "less", "greater", "at_most":
		if v == nil || len(s.Values) != 1 {
			return false, nil
		}
		c, err := compareValues(k, *v, s.Values[0])
		if err != nil {
			return false, err
		}
		return s.Op == "less" && c < 0 || s.Op == "greater" && c > 0 || s.Op == "at_most" && c <= 0, nil
	}
	return false, fmt.Errorf("unknown condition %q", s.Op)
}

func sameValue(k Kind, a, b string) (bool, error) {
	switch k {
	case KindInt, KindDecimal, KindTime:
		c, err := compareValues(k, a, b)
		return c == 0, err
	}
	return a == b, nil
}

// compareValues orders two values of kind k: numbers by value, times by instant.
func compareValues(k Kind, a, b string) (int, error) {
	switch k {
	case KindTime:
		ta, err := parseTimeValue(a)
		if err != nil {
			return 0, err
		}
		tb, err := parseTimeValue(b)
		if err != nil {
			return 0, err
		}
		return ta.Compare(tb), nil
	case KindInt, KindDecimal:
		ra, ok := new(big.Rat).SetString(a)
		if !ok {
			return 0, fmt.Errorf("bad number %q", a)
		}
		rb, ok := new(big.Rat).SetString(b)
		if !ok {
			return 0, fmt.Errorf("bad number %q", b)
		}
		return ra.Cmp(rb), nil
	}
	return slices.Compare([]byte(a), []byte(b)), nil
}

func parseTimeValue(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}
