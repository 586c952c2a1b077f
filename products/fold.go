package products

import (
	"strings"
	"unicode"
)

// CrowdLower folds a user or group name the way the products' embedded Crowd does before it
// stores or compares one (IdentifierUtils.toLowerCase, which is Java's
// String.toLowerCase(Locale.ENGLISH)): the lower_user_name, lower_group_name and
// lower_child_name columns hold names folded this way, and two names are the same user exactly
// when their folds are equal.
//
// Java lower-cases a capital sigma (Σ) to ς or σ depending on its own word-break rules; that is
// the one case this function cannot reproduce, and exact is false for any name that holds one.
// Everything else is exact, including İ, which Java folds to "i̇" (two code points).
func CrowdLower(name string) (folded string, exact bool) {
	exact = true
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch r {
		case 'İ': // U+0130: Java's special casing, outside Turkish and Azeri locales
			b.WriteString("i\u0307")
		case 'Σ':
			exact = false
			b.WriteRune('σ')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String(), exact
}
