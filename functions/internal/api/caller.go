package api

import (
	"encoding/json"
	"slices"
	"strings"
)

// AdminGroup is the group whose members may manage the catalog.
const AdminGroup = "admin"

// Caller is the signed-in user, from the JWT claims API Gateway's authorizer passes on.
type Caller struct {
	UserID string
	Groups []string
}

// IsAdmin reports whether the caller is in the admin group.
func (c Caller) IsAdmin() bool { return slices.Contains(c.Groups, AdminGroup) }

// CallerOf returns the caller of a protected route. The authorizer has verified the token;
// a request without claims reached the function some other way and is refused.
func CallerOf(req Request) (Caller, error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.JWT == nil {
		return Caller{}, ErrUnauthorized
	}
	claims := req.RequestContext.Authorizer.JWT.Claims
	sub := claims["sub"]
	if sub == "" {
		return Caller{}, ErrUnauthorized
	}
	return Caller{UserID: sub, Groups: parseGroups(claims["cognito:groups"])}, nil
}

// AdminOf returns the caller of an admin route: 401 without a caller, 403 for non-admins.
func AdminOf(req Request) (Caller, error) {
	c, err := CallerOf(req)
	if err != nil {
		return c, err
	}
	if !c.IsAdmin() {
		return c, ErrForbidden
	}
	return c, nil
}

// parseGroups reads a list claim as API Gateway flattens it: "[admin editors]". A JSON
// array and a comma-separated list are accepted too.
func parseGroups(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var list []string
	if json.Unmarshal([]byte(v), &list) == nil {
		return list
	}
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
}
