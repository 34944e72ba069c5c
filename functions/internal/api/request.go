package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxBody is the contract's limit for JSON request bodies.
const MaxBody = 1 << 20

// Body returns the request body as bytes, decoding base64 when API Gateway encoded it, and
// refuses bodies over max with 413.
func Body(req Request, max int) ([]byte, error) {
	raw := req.Body
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(raw)) > max+3 {
			return nil, ErrTooLarge
		}
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, Invalid("the body is not valid base64")
		}
		if len(b) > max {
			return nil, ErrTooLarge
		}
		return b, nil
	}
	if len(raw) > max {
		return nil, ErrTooLarge
	}
	return []byte(raw), nil
}

// DecodeJSON decodes the body (at most max bytes) into v, strictly, as the contract says:
// the content type must be application/json (415 otherwise, a charset other than UTF-8
// too), and the body one JSON object whose member names are v's exactly (case-sensitive),
// none of them twice and none unknown, with values of the declared types (400 otherwise).
func DecodeJSON(req Request, max int, v any) error {
	if !isJSON(Header(req, "content-type")) {
		return ErrMediaType
	}
	b, err := Body(req, max)
	if err != nil {
		return err
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Invalid("the body must be a JSON object")
	}
	// The defaults of json v2 are the contract's: exact names, duplicate names refused,
	// invalid UTF-8 refused, nothing after the object.
	if err := json.Unmarshal(b, v, json.RejectUnknownMembers(true)); err != nil {
		return Invalid("%s", describeJSONError(err))
	}
	return nil
}

// isJSON reports whether a Content-Type header is application/json, in any case, with no
// charset or UTF-8's.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// describeJSONError says what is wrong, naming the member by its path in the body
// ("items.0.quantity"), without echoing Go type names.
func describeJSONError(err error) string {
	var semErr *json.SemanticError
	var synErr *jsontext.SyntacticError
	switch {
	case errors.As(err, &synErr) && errors.Is(synErr.Err, jsontext.ErrDuplicateName):
		return fmt.Sprintf("field %q appears more than once", memberPath(synErr.JSONPointer))
	case errors.As(err, &semErr) && errors.Is(semErr.Err, json.ErrUnknownName):
		return fmt.Sprintf("unknown field %q (names are case-sensitive)", memberPath(semErr.JSONPointer))
	case errors.As(err, &semErr) && semErr.JSONPointer != "":
		return fmt.Sprintf("field %q has the wrong type", memberPath(semErr.JSONPointer))
	case errors.As(err, &semErr):
		return "the body must be a JSON object"
	default:
		return "the body is not valid JSON"
	}
}

// memberPath renders a JSON pointer ("/items/0/quantity") as "items.0.quantity".
func memberPath(p jsontext.Pointer) string {
	return strings.Join(slices.Collect(p.Tokens()), ".")
}

// Header returns a request header; API Gateway lower-cases header names.
func Header(req Request, name string) string {
	return req.Headers[strings.ToLower(name)]
}

// ValidID reports whether s is a well-formed id: 1..64 URL-safe characters.
func ValidID(s string) bool { return MadeOf(s, 1, 64, URLSafe) }

// PathID returns the path parameter name, which must be a well-formed id.
func PathID(req Request, name string) (string, error) {
	id := req.PathParameters[name]
	if !ValidID(id) {
		return "", Invalid("%s must be 1 to 64 characters of A-Z a-z 0-9 _ -", name)
	}
	return id, nil
}

// List limits of the contract.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Limit returns ?limit=, 1..100, default 20. Every list route reads it first, so a query
// string that is not valid URL encoding ("limit=%zz") is answered 400 here rather than
// read as if the broken pair were absent.
func Limit(req Request) (int, error) {
	if err := CheckQuery(req); err != nil {
		return 0, err
	}
	s, ok := req.QueryStringParameters["limit"]
	if !ok {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, Invalid("limit must be an integer from 1 to %d", MaxLimit)
	}
	return n, nil
}

// CheckQuery refuses a raw query string with a bad percent escape in a name or value. Pairs
// are split on "&" only, as API Gateway does.
func CheckQuery(req Request) error {
	for pair := range strings.SplitSeq(req.RawQueryString, "&") {
		name, value, _ := strings.Cut(pair, "=")
		for _, part := range []string{name, value} {
			if _, err := url.QueryUnescape(part); err != nil {
				return Invalid("the query string is not valid URL encoding")
			}
		}
	}
	return nil
}

// Page is the contract's list answer.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}
