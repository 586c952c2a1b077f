package products

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// XML: the products' config files, read with limits.

const maxXMLDepth = 64

// element is one element of a parsed XML file.
type element struct {
	name  string // local name
	attrs []xml.Attr
	kids  []*element
	text  strings.Builder // character data directly inside
	line  int
}

func (e *element) child(name string) *element {
	for _, k := range e.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (e *element) children(name string) []*element {
	var out []*element
	for _, k := range e.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// find returns the elements named name anywhere below e, in document order.
func (e *element) find(name string) []*element {
	var out []*element
	var walk func(*element)
	walk = func(n *element) {
		for _, k := range n.kids {
			if k.name == name {
				out = append(out, k)
			}
			walk(k)
		}
	}
	walk(e)
	return out
}

// attr returns an attribute, matched exactly first and then ignoring case.
func (e *element) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	for _, a := range e.attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value, true
		}
	}
	return "", false
}

// parseXML reads a whole XML document into a tree. Its errors never quote the document's
// text: a malformed file may have a password where markup was expected.
func (c *parser) parseXML(file string, data []byte) (*element, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = charsetReader
	var root *element
	var stack []*element
	fail := func(format string, args ...any) error {
		line, _ := dec.InputPos()
		return &DiscoverError{File: file, Msg: fmt.Sprintf("malformed xml at line %d: ", line) + fmt.Sprintf(format, args...)}
	}
	for {
		startLine, _ := dec.InputPos() // where the next token starts
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &DiscoverError{File: file, Msg: fmt.Sprintf("malformed xml at line %d: %s", se.Line, xmlSyntax(se.Msg))}
			}
			return nil, fail("%s", xmlOther(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return nil, fail("elements are nested more than %d deep", maxXMLDepth)
			}
			e := &element{name: t.Name.Local, attrs: t.Attr, line: startLine}
			if len(stack) == 0 {
				if root != nil {
					return nil, fail("a second root element after the first one ends")
				}
				root = e
			} else {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fail("text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, &DiscoverError{File: file, Msg: "no xml element in it: the file is empty or is not the product's config file"}
	}
	if len(stack) > 0 {
		return nil, fail("the file ends before <%s> is closed (is it cut short?)", stack[len(stack)-1].name)
	}
	return root, nil
}

// xmlSyntax turns encoding/xml's syntax errors into text that quotes nothing from the file.
func xmlSyntax(msg string) string {
	switch {
	case strings.HasPrefix(msg, "unexpected EOF"):
		return "the file ends before its elements are closed (is it cut short?)"
	case strings.Contains(msg, "closed by"), strings.HasPrefix(msg, "unexpected end element"), strings.Contains(msg, " in space "):
		return "an end tag does not match the element it closes"
	case strings.HasPrefix(msg, "invalid character entity"):
		return "an & that does not start an entity: a literal & must be written &amp;"
	case strings.HasPrefix(msg, "unescaped < inside quoted string"):
		return "a < inside an attribute value: write &lt;"
	case strings.HasPrefix(msg, "invalid UTF-8"):
		return "the file is not valid utf-8 text: check its encoding"
	case strings.HasPrefix(msg, "illegal character code"):
		return msg // "illegal character code U+0001"
	case strings.HasPrefix(msg, "invalid XML name"):
		return "an invalid element or attribute name"
	case strings.HasPrefix(msg, "invalid characters between"):
		return "a malformed end tag"
	}
	for _, fixed := range []string{
		"expected element name after </", "expected target name after <?", "invalid sequence <!- not part of <!--",
		"invalid <![ sequence", "expected element name after <", "expected /> in element", "expected attribute name in element",
		"attribute name without = in element", "unquoted or missing attribute value in element", "unescaped ]]> not in CDATA section",
	} {
		if msg == fixed {
			return msg
		}
	}
	return "the file is not well-formed xml"
}

// xmlOther words the decoder's other errors (unknown encodings, versions) without quoting
// more than the declaration's value.
func xmlOther(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "encoding"), strings.Contains(msg, "charset"):
		return "its encoding= declaration names an encoding reauth cannot read (utf-8, us-ascii and iso-8859-1 are read)"
	case strings.Contains(msg, "version"):
		return "its <?xml version= is not 1.0"
	}
	return "the file is not well-formed xml"
}

// charsetReader reads the encodings that a config file may declare besides UTF-8.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(latin1(b)), nil
	}
	return nil, fmt.Errorf("unsupported encoding")
}

// latin1 decodes ISO-8859-1: every byte is the code point of the same number.
func latin1(b []byte) string {
	var s strings.Builder
	s.Grow(len(b))
	for _, c := range b {
		s.WriteRune(rune(c))
	}
	return s.String()
}

// checkRoot refuses a file whose root element is not the one the product writes.
func (c *parser) checkRoot(root *element, want string) error {
	if root.name != want {
		return c.fail("", nil, "the root element is <%s>, not <%s>: is this %s's %s?", truncate(root.name), want, c.product.Title, baseName(c.product.ConfigPath("")))
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// only returns the single child named name of e: nil when there is none, an error when there
// are several (the file would be ambiguous).
func (c *parser) only(e *element, name, path string) (*element, error) {
	kids := e.children(name)
	switch len(kids) {
	case 0:
		return nil, nil
	case 1:
		return kids[0], nil
	}
	return nil, c.fail(path, nil, "appears %d times (lines %d and %d): keep one", len(kids), kids[0].line, kids[1].line)
}
