package db_test

import (
	"testing"
	"time"

	"github.com/reauth/reauth/db"
)

func TestCondSpecHolds(t *testing.T) {
	cutoff := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := func(v string) *string { return &v }
	tests := []struct {
		name string
		cond db.Cond
		kind db.Kind
		v    *string
		want bool
	}{
		{"exact in", db.ExactIn("u", "Åsa"), db.KindText, s("Åsa"), true},
		{"exact in is exact", db.ExactIn("u", "Åsa"), db.KindText, s("åsa"), false},
		{"in, NULL", db.In("u", "a"), db.KindText, nil, false},
		{"not in, NULL", db.NotIn("u", "a"), db.KindText, nil, true},
		{"exact not in", db.ExactNotIn("u", "admin"), db.KindText, s("admin"), false},
		{"in, numbers by value", db.In("id", "4"), db.KindInt, s("4"), true},
		{"in, decimals by value", db.In("id", "10100"), db.KindDecimal, s("10100.0"), true},
		{"less, times", db.Less("created", cutoff), db.KindTime, s("2026-10-31T23:59:59Z"), true},
		{"less, times, not", db.Less("created", cutoff), db.KindTime, s("2026-11-01T00:00:00Z"), false},
		{"less, NULL never", db.Less("created", cutoff), db.KindTime, nil, false},
		{"less, millis", db.Less("created", cutoff.UnixMilli()), db.KindInt, s("1761955200000"), true},
	}
	for _, tt := range tests {
		got, err := tt.cond.Spec().Holds(tt.kind, tt.v)
		if err != nil || got != tt.want {
			t.Errorf("%s: Holds = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}
