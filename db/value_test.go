package db

import (
	"encoding/binary"
	"math"
	"math/rand"
	"testing"
	"time"
)

// The quick path for PostgreSQL times writes what pgx's time.Time and Text write.
func TestAppendY2KMicros(t *testing.T) {
	check := func(us int64) {
		t.Helper()
		tm := time.Unix(pgUnixToY2K+us/1_000_000, us%1_000_000*1_000).UTC()
		want := tm.Format(time.RFC3339Nano)
		got, ok := appendY2KMicros([]byte("x"), us)
		if inRange := tm.Year() >= 0 && tm.Year() <= 9999; ok != inRange {
			t.Fatalf("appendY2KMicros(%d) ok = %v; year %d", us, ok, tm.Year())
		}
		if ok && string(got[1:]) != want {
			t.Fatalf("appendY2KMicros(%d) = %s; want %s", us, got[1:], want)
		}
		var src [8]byte
		binary.BigEndian.PutUint64(src[:], uint64(us))
		if tm.Before(pgMinTime) || !tm.Before(pgEndTime) {
			return
		}
		r, err := renderPgTimestamp(nil, src[:])
		if err != nil || string(r) != want {
			t.Fatalf("renderPgTimestamp(%d) = %s, %v; want %s", us, r, err, want)
		}
	}
	const day = 86_400_000_000
	for _, us := range []int64{0, 1, -1, 999_999, -999_999, 1_000_000, -1_000_000, day - 1, day, -day, -day + 1,
		-946_684_800_000_000, -63_082_281_600_000_000, -63_082_281_600_000_001, 252_455_615_999_999_999,
		252_455_616_000_000_000, 838_123_200_123_456, 1_000, 100_000, 120_000, math.MaxInt64 / 1000, math.MinInt64 / 1000} {
		check(us)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 1_000_000; i++ {
		us := rng.Int63n(2*320_000_000_000_000_000) - 320_000_000_000_000_000 // about years -8000 to 12000
		switch i % 4 {
		case 1:
			us -= us % 1_000_000 // whole seconds
		case 2:
			us -= us % day // midnight
		case 3:
			us -= us % 1000 // whole milliseconds
		}
		check(us)
	}
}
