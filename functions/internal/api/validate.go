package api

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// UnsupportedMediaType is a 415 unsupported_media_type with a formatted message.
func UnsupportedMediaType(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: fmt.Sprintf(format, args...)}
}

// TooLarge is a 413 payload_too_large with a formatted message.
func TooLarge(format string, args ...any) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: fmt.Sprintf(format, args...)}
}

// StatusOf returns the HTTP status Fail answers err with (500 for unexpected errors).
func StatusOf(err error) int {
	e, _ := asError(err)
	return e.Status
}

// The ASCII spellings of ids, keys and codes are checked by a loop over their bytes, not
// package-level regular expressions: each of those was compiled at every cold start, for
// tens of kilobytes and a tenth of a millisecond apiece.

// MadeOf reports whether s is min..max bytes long and every byte is allowed.
func MadeOf(s string, min, max int, allowed func(c byte) bool) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := range len(s) {
		if !allowed(s[i]) {
			return false
		}
	}
	return true
}

// URLSafe allows the characters of ids and keys: A-Z a-z 0-9 _ -.
func URLSafe(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// TextRule says what a text field may hold; lengths count characters (Unicode code points),
// not bytes.
type TextRule struct {
	Min, Max int
	// Multiline allows tabs and line breaks; other control characters are never allowed.
	Multiline bool
}

// CheckText returns a problem with s as the value of field under rule, or "" when s is fine.
// A field that must not be empty must not be blank either.
func CheckText(field, s string, rule TextRule) string {
	n := utf8.RuneCountInString(s)
	if n < rule.Min || n > rule.Max {
		if rule.Min == 0 {
			return fmt.Sprintf("%s must be at most %d characters", field, rule.Max)
		}
		return fmt.Sprintf("%s must be %d to %d characters", field, rule.Min, rule.Max)
	}
	if rule.Min > 0 && strings.TrimSpace(s) == "" {
		return fmt.Sprintf("%s must not be blank", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(rule.Multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return fmt.Sprintf("%s must not contain control characters", field)
		}
	}
	return ""
}

// Problems collects validation problems and turns them into one 400 answer.
type Problems []string

// Add records problem unless it is empty.
func (p *Problems) Add(problem string) {
	if problem != "" {
		*p = append(*p, problem)
	}
}

// Addf records a formatted problem.
func (p *Problems) Addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Err returns nil without problems, or a 400 invalid_request naming every problem.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return Invalid("%s", strings.Join(p, "; "))
}
