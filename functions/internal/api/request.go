package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strconv"
	"strings"
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

// DecodeJSON decodes the body (at most max bytes) into v, strictly: one JSON object, no
// unknown fields, types as declared. A content type other than JSON is 415.
func DecodeJSON(req Request, max int, v any) error {
	if ct := Header(req, "content-type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return ErrMediaType
		}
	}
	b, err := Body(req, max)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return Invalid("the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Invalid("%s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid("the body must hold exactly one JSON object")
	}
	return nil
}

// describeJSONError says what is wrong without echoing Go type names.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return "the body must be a JSON object"
		}
		return fmt.Sprintf("field %q has the wrong type", typeErr.Field)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is not valid JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return "the body is not valid JSON"
	}
}

// Header returns a request header; API Gateway lower-cases header names.
func Header(req Request, name string) string {
	return req.Headers[strings.ToLower(name)]
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether s is a well-formed id: 1..64 URL-safe characters.
func ValidID(s string) bool { return idPattern.MatchString(s) }

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

// Limit returns ?limit=, 1..100, default 20.
func Limit(req Request) (int, error) {
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

// Page is the contract's list answer.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}
