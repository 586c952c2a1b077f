package gitlabtest

import (
	"encoding/binary"
	"errors"
	"time"
)

// marshalWriter writes Ruby Marshal 4.8, as far as GitLab's session values need: nil,
// booleans, fixnums, UTF-8 strings, symbols (with symbol links), arrays, hashes, plain objects
// and ActiveSupport::TimeWithZone.
type marshalWriter struct {
	b    []byte
	syms map[string]int
}

func newMarshal() *marshalWriter { return &marshalWriter{b: []byte{4, 8}, syms: map[string]int{}} }

func (w *marshalWriter) bytes() []byte { return w.b }

// long is w_long in marshal.c.
func (w *marshalWriter) long(x int64) {
	switch {
	case x == 0:
		w.b = append(w.b, 0)
	case 0 < x && x < 123:
		w.b = append(w.b, byte(x+5))
	case -124 < x && x < 0:
		w.b = append(w.b, byte((x-5)&0xff))
	default:
		var buf [9]byte
		for i := 1; i < 9; i++ {
			buf[i] = byte(x & 0xff)
			x >>= 8
			if x == 0 {
				buf[0] = byte(i)
				w.b = append(w.b, buf[:i+1]...)
				return
			}
			if x == -1 {
				buf[0] = byte(-i)
				w.b = append(w.b, buf[:i+1]...)
				return
			}
		}
	}
}

func (w *marshalWriter) symbol(s string) {
	if i, ok := w.syms[s]; ok {
		w.b = append(w.b, ';')
		w.long(int64(i))
		return
	}
	w.syms[s] = len(w.syms)
	w.b = append(w.b, ':')
	w.long(int64(len(s)))
	w.b = append(w.b, s...)
}

func (w *marshalWriter) nil() { w.b = append(w.b, '0') }

func (w *marshalWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 'T')
	} else {
		w.b = append(w.b, 'F')
	}
}

func (w *marshalWriter) int(x int64) {
	w.b = append(w.b, 'i')
	w.long(x)
}

// str writes a UTF-8 string: the bytes, then one instance variable, E => true.
func (w *marshalWriter) str(s string) {
	w.b = append(w.b, 'I', '"')
	w.long(int64(len(s)))
	w.b = append(w.b, s...)
	w.long(1)
	w.symbol("E")
	w.bool(true)
}

func (w *marshalWriter) array(n int) {
	w.b = append(w.b, '[')
	w.long(int64(n))
}

func (w *marshalWriter) hash(n int) {
	w.b = append(w.b, '{')
	w.long(int64(n))
}

// object starts an object of class with n instance variables (symbol/value pairs follow).
func (w *marshalWriter) object(class string, n int) {
	w.b = append(w.b, 'o')
	w.symbol(class)
	w.long(int64(n))
}

// rubyTime writes a Time as Time#_dump does: 8 packed bytes, then the zone.
func (w *marshalWriter) rubyTime(t time.Time) {
	t = t.UTC()
	p := uint32(1)<<31 | 1<<30 | uint32(t.Year()-1900)<<14 | uint32(t.Month()-1)<<10 |
		uint32(t.Day())<<5 | uint32(t.Hour())
	s := uint32(t.Minute())<<26 | uint32(t.Second())<<20 | uint32(t.Nanosecond()/1000)
	w.b = append(w.b, 'I', 'u')
	w.symbol("Time")
	w.long(8)
	w.b = binary.LittleEndian.AppendUint32(w.b, p)
	w.b = binary.LittleEndian.AppendUint32(w.b, s)
	w.long(1)
	w.symbol("zone")
	w.str("UTC")
}

// timeWithZone writes ActiveSupport::TimeWithZone#marshal_dump: [utc, zone name, time].
func (w *marshalWriter) timeWithZone(t time.Time) {
	w.b = append(w.b, 'U')
	w.symbol("ActiveSupport::TimeWithZone")
	w.array(3)
	w.rubyTime(t)
	w.str("Etc/UTC")
	w.rubyTime(t)
}

// marshalReader reads back what the simulated endpoint needs (a fixnum).
type marshalReader struct {
	b []byte
	i int
}

var errShort = errors.New("short marshal data")

func (r *marshalReader) byte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, errShort
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

func (r *marshalReader) long() (int64, error) {
	c0, err := r.byte()
	if err != nil {
		return 0, err
	}
	c := int8(c0)
	switch {
	case c == 0:
		return 0, nil
	case c > 4:
		return int64(c) - 5, nil
	case c < -4:
		return int64(c) + 5, nil
	case c > 0:
		var x int64
		for n := 0; n < int(c); n++ {
			b, err := r.byte()
			if err != nil {
				return 0, err
			}
			x |= int64(b) << (8 * n)
		}
		return x, nil
	default:
		x := int64(-1)
		for n := 0; n < int(-c); n++ {
			b, err := r.byte()
			if err != nil {
				return 0, err
			}
			x &^= int64(0xff) << (8 * n)
			x |= int64(b) << (8 * n)
		}
		return x, nil
	}
}
