package api

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shop-serverless/shop/functions/manifest"
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

// CallerOf returns the caller of a protected route. The authorizer has verified the token's
// signature, issuer, audience and expiry; a request without claims reached the function
// some other way and is refused. What the authorizer does not check is checked here:
//
//   - token_use: API Gateway accepts any token whose "aud" or "client_id" matches, so a
//     Cognito ID token (token_use "id", aud = the app client) would pass it. ID tokens tell
//     the client who signed in; they are not meant for calling APIs (OpenID Connect) and
//     are refused. A token without token_use (an external issuer's) is accepted.
//   - lifetime: the token must carry iat and exp, at most manifest.MaxTokenLifetime apart.
func CallerOf(req Request) (Caller, error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.JWT == nil {
		return Caller{}, ErrUnauthorized
	}
	claims := req.RequestContext.Authorizer.JWT.Claims
	sub := claims["sub"]
	if sub == "" || !acceptedToken(claims) {
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

// acceptedToken applies the token_use and lifetime rules of CallerOf to flattened claims.
func acceptedToken(claims map[string]string) bool {
	if use, ok := claims["token_use"]; ok && use != "access" {
		return false
	}
	iat, errIat := strconv.ParseInt(claims["iat"], 10, 64)
	exp, errExp := strconv.ParseInt(claims["exp"], 10, 64)
	if errIat != nil || errExp != nil || iat < 0 || exp < iat {
		return false
	}
	return exp-iat <= int64(manifest.MaxTokenLifetime/time.Second)
}

// parseGroups reads the groups claim as API Gateway's JWT authorizer flattens it: a list
// becomes "[admin editors]", its elements joined by spaces (Cognito group names hold no
// whitespace, so the split is exact). Any other string is one group's name, so a group
// named "staff,admin" is not "admin".
func parseGroups(v string) []string {
	if inner, ok := strings.CutPrefix(v, "["); ok {
		if inner, ok := strings.CutSuffix(inner, "]"); ok {
			return strings.Fields(inner)
		}
	}
	if v == "" {
		return nil
	}
	return []string{v}
}
