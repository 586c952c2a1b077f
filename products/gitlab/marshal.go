package gitlab

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// A reader of Ruby's Marshal format (version 4.8), enough to find whose Rails session a
// session:gitlab:<id> value is. GitLab has stored that value in two ways:
//
//   - current releases (Gitlab::Sessions::CacheStore with Gitlab::Sessions::CacheStoreCoder,
//     the Rails 6.1 cache coder): Marshal of an ActiveSupport::Cache::Entry whose @value is
//     the session hash or, above the compression threshold, @compressed is true and @value
//     is the zlib-deflated Marshal of the hash. Rails 6.1 and 7.x lay out the Entry's other
//     instance variables differently (@created_at, @expires_in, @version); only @value and
//     @compressed are read, so either layout is understood;
//   - older releases (redis-store): Marshal of the bare session hash.
//
// Devise stores the signed-in user under "warden.user.user.key" as [[id], salt]. The reader
// only builds plain values (nil, bool, int64, string, symbols, arrays, hashes, and opaque
// objects with their instance variables); it never instantiates anything, and any input that
// is not one of these forms is an error, never a panic.

var errMarshal = errors.New("not a Ruby Marshal value this reader understands")

type (
	rbSymbol string
	rbArray  struct{ items []any }
	rbHash   struct{ keys, vals []any }
	rbObject struct {
		class string
		ivars *rbHash
	}
)

const (
	marshalMaxDepth = 64
	// maxInflated bounds a compressed session's inflated size: sessions are kilobytes, and a
	// forged value must not make verify allocate without limit.
	maxInflated = 4 << 20
	cacheEntry  = "ActiveSupport::Cache::Entry"
)

type marshalReader struct {
	b     []byte
	i     int
	depth int
	syms  []string
	objs  []any
}

// rackSessionUser returns the GitLab user id a Rails session value belongs to, 0 when that
// session has no signed-in user. A value that is none of GitLab's formats, or whose user key
// is not Devise's [[id], salt], is an error: nobody can tell whose it is.
func rackSessionUser(value []byte) (int64, error) {
	h, err := rackSessionHash(value)
	if err != nil {
		return 0, err
	}
	key, found := h.get("warden.user.user.key")
	if !found {
		return 0, nil
	}
	arr, isArr := key.(*rbArray)
	if !isArr {
		return 0, fmt.Errorf("%w: warden.user.user.key is not an array", errMarshal)
	}
	// Devise: [[id], salt]; Devise 1.x: ["User", [id], salt].
	for _, item := range arr.items {
		if ids, isArr := item.(*rbArray); isArr && len(ids.items) > 0 {
			if id, isInt := ids.items[0].(int64); isInt && id > 0 {
				return id, nil
			}
			return 0, fmt.Errorf("%w: warden.user.user.key holds no positive user id", errMarshal)
		}
	}
	return 0, fmt.Errorf("%w: warden.user.user.key holds no [id]", errMarshal)
}

// rackSessionHash unwraps a Rails session value to its session hash.
func rackSessionHash(value []byte) (*rbHash, error) {
	v, err := unmarshalRuby(value)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *rbHash:
		return v, nil
	case *rbObject:
		if v.class != cacheEntry {
			return nil, fmt.Errorf("%w: an object of class %q, not a session", errMarshal, v.class)
		}
		inner, found := v.ivars.get("@value")
		if !found {
			return nil, fmt.Errorf("%w: %s without @value", errMarshal, cacheEntry)
		}
		if compressed, _ := v.ivars.get("@compressed"); compressed == true {
			deflated, isStr := inner.(string)
			if !isStr {
				return nil, fmt.Errorf("%w: compressed %s whose @value is not a string", errMarshal, cacheEntry)
			}
			plain, err := inflate([]byte(deflated))
			if err != nil {
				return nil, err
			}
			if inner, err = unmarshalRuby(plain); err != nil {
				return nil, err
			}
		}
		if h, isHash := inner.(*rbHash); isHash {
			return h, nil
		}
		return nil, fmt.Errorf("%w: %s whose value is not a hash", errMarshal, cacheEntry)
	}
	return nil, fmt.Errorf("%w: neither a session hash nor a %s", errMarshal, cacheEntry)
}

// inflate undoes Zlib::Deflate.deflate, refusing output beyond maxInflated.
func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: compressed value: %v", errMarshal, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("%w: compressed value: %v", errMarshal, err)
	}
	if len(out) > maxInflated {
		return nil, fmt.Errorf("%w: compressed value inflates beyond %d bytes", errMarshal, maxInflated)
	}
	return out, nil
}

func (h *rbHash) get(name string) (any, bool) {
	for i, k := range h.keys {
		switch k := k.(type) {
		case string:
			if k == name {
				return h.vals[i], true
			}
		case rbSymbol:
			if string(k) == name {
				return h.vals[i], true
			}
		}
	}
	return nil, false
}

// unmarshalRuby decodes one Marshal value that must span the whole input.
func unmarshalRuby(b []byte) (any, error) {
	if len(b) < 3 || b[0] != 4 || b[1] != 8 {
		return nil, errMarshal
	}
	r := &marshalReader{b: b, i: 2}
	v, err := r.value()
	if err != nil {
		return nil, err
	}
	if r.i != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the value", errMarshal, len(b)-r.i)
	}
	return v, nil
}

func (r *marshalReader) byte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, errMarshal
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

// long reads Marshal's variable-length integer (r_long in marshal.c).
func (r *marshalReader) long() (int64, error) {
	c0, err := r.byte()
	if err != nil {
		return 0, err
	}
	c := int8(c0)
	switch {
	case c == 0:
		return 0, nil
	case c > 0:
		if c > 4 {
			return int64(c) - 5, nil
		}
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
		if c < -4 {
			return int64(c) + 5, nil
		}
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

// count reads a length that each of whose units takes at least one more byte of input, so
// that a forged length cannot make the reader allocate more than the input's size.
func (r *marshalReader) count() (int, error) {
	n, err := r.long()
	if err != nil {
		return 0, err
	}
	if n < 0 || n > int64(len(r.b)-r.i) {
		return 0, errMarshal
	}
	return int(n), nil
}

func (r *marshalReader) bytes() ([]byte, error) {
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	b := r.b[r.i : r.i+n]
	r.i += n
	return b, nil
}

func (r *marshalReader) register(v any) int {
	r.objs = append(r.objs, v)
	return len(r.objs) - 1
}

// symbol reads a symbol or a symbol link (':', ';', or 'I' wrapping ':' for an encoded one).
func (r *marshalReader) symbol() (string, error) {
	c, err := r.byte()
	if err != nil {
		return "", err
	}
	switch c {
	case ':':
		b, err := r.bytes()
		if err != nil {
			return "", err
		}
		r.syms = append(r.syms, string(b))
		return string(b), nil
	case ';':
		n, err := r.long()
		if err != nil || n < 0 || n >= int64(len(r.syms)) {
			return "", errMarshal
		}
		return r.syms[n], nil
	case 'I':
		s, err := r.symbol()
		if err != nil {
			return "", err
		}
		if _, err := r.ivars(); err != nil {
			return "", err
		}
		return s, nil
	}
	return "", errMarshal
}

// ivars reads a count and that many symbol/value pairs.
func (r *marshalReader) ivars() (*rbHash, error) {
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	h := &rbHash{}
	for ; n > 0; n-- {
		k, err := r.symbol()
		if err != nil {
			return nil, err
		}
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		h.keys = append(h.keys, rbSymbol(k))
		h.vals = append(h.vals, v)
	}
	return h, nil
}

func (r *marshalReader) value() (any, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > marshalMaxDepth {
		return nil, errMarshal
	}
	c, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch c {
	case '0':
		return nil, nil
	case 'T':
		return true, nil
	case 'F':
		return false, nil
	case 'i':
		return r.long()
	case ':', ';':
		r.i--
		s, err := r.symbol()
		return rbSymbol(s), err
	case '"', 'f', 'c', 'm', 'M':
		idx := r.register(nil)
		b, err := r.bytes()
		if err != nil {
			return nil, err
		}
		r.objs[idx] = string(b)
		return string(b), nil
	case 'l': // bignum: sign, length in 16-bit words, little-endian magnitude
		idx := r.register(nil)
		sign, err := r.byte()
		if err != nil || (sign != '+' && sign != '-') {
			return nil, errMarshal
		}
		n, err := r.count()
		if err != nil || 2*n > len(r.b)-r.i {
			return nil, errMarshal
		}
		mag := r.b[r.i : r.i+2*n]
		r.i += 2 * n
		for len(mag) > 0 && mag[len(mag)-1] == 0 {
			mag = mag[:len(mag)-1]
		}
		if len(mag) > 7 {
			r.objs[idx] = "bignum"
			return "bignum", nil
		}
		var x int64
		for k := len(mag) - 1; k >= 0; k-- {
			x = x<<8 | int64(mag[k])
		}
		if sign == '-' {
			x = -x
		}
		r.objs[idx] = x
		return x, nil
	case '/':
		idx := r.register(nil)
		b, err := r.bytes()
		if err != nil {
			return nil, err
		}
		if _, err := r.byte(); err != nil { // options
			return nil, err
		}
		r.objs[idx] = string(b)
		return string(b), nil
	case 'I': // an object followed by its instance variables (a string's encoding)
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		if _, err := r.ivars(); err != nil {
			return nil, err
		}
		return v, nil
	case 'e', 'C': // extended by a module / instance of a user subclass: the object follows
		if _, err := r.symbol(); err != nil {
			return nil, err
		}
		return r.value()
	case '@':
		n, err := r.long()
		if err != nil || n < 0 || n >= int64(len(r.objs)) {
			return nil, errMarshal
		}
		return r.objs[n], nil
	case '[':
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		a := &rbArray{items: make([]any, 0, n)}
		r.register(a)
		for ; n > 0; n-- {
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			a.items = append(a.items, v)
		}
		return a, nil
	case '{', '}':
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		h := &rbHash{}
		r.register(h)
		for ; n > 0; n-- {
			k, err := r.value()
			if err != nil {
				return nil, err
			}
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			h.keys = append(h.keys, k)
			h.vals = append(h.vals, v)
		}
		if c == '}' {
			if _, err := r.value(); err != nil { // the default value
				return nil, err
			}
		}
		return h, nil
	case 'o', 'S': // object / struct: class, then symbol/value pairs
		class, err := r.symbol()
		if err != nil {
			return nil, err
		}
		o := &rbObject{class: class}
		r.register(o)
		if o.ivars, err = r.ivars(); err != nil {
			return nil, err
		}
		return o, nil
	case 'u': // _dump: class, then a byte string
		class, err := r.symbol()
		if err != nil {
			return nil, err
		}
		o := &rbObject{class: class}
		r.register(o)
		if _, err := r.bytes(); err != nil {
			return nil, err
		}
		return o, nil
	case 'U', 'd': // marshal_dump / data: class, then one value
		class, err := r.symbol()
		if err != nil {
			return nil, err
		}
		o := &rbObject{class: class}
		r.register(o)
		if _, err := r.value(); err != nil {
			return nil, err
		}
		return o, nil
	}
	return nil, errMarshal
}
