package stage

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/shop-serverless/shop/functions/manifest"
)

// cacheAdmin is the stage's own cache user, for seeding and for tests to inspect and reset
// the cache: every key and command.
const cacheAdmin = "admin"

// cacheUsers are the local Redis's users and their passwords: one user per function that
// uses the cache, named after it, one per function that limits (its LimiterUser), and the
// admin. Passwords are random per stage: in the
// cloud the same users authenticate with IAM tokens, which cannot be had locally.
type cacheUsers map[string]string

func newCacheUsers() cacheUsers {
	u := cacheUsers{cacheAdmin: randomPassword()}
	for _, fn := range manifest.Functions {
		if fn.Cache != nil {
			u[fn.Name] = randomPassword()
		}
		if fn.LimiterAccess() != nil {
			u[fn.LimiterUser()] = randomPassword()
		}
	}
	return u
}

// acl is the users as Redis ACL file lines: each function's user has exactly the access
// string its entry in functions/manifest declares (the one its ElastiCache user gets), the
// default user is off, so nothing connects without a user of its own.
func (u cacheUsers) acl() []string {
	lines := []string{
		"user default off nopass resetkeys resetchannels -@all",
		"user " + cacheAdmin + " on >" + u[cacheAdmin] + " ~* &* +@all",
	}
	for _, fn := range manifest.Functions {
		if fn.Cache != nil {
			lines = append(lines, "user "+fn.Name+" "+fn.Cache.AccessString()+" >"+u[fn.Name])
		}
		if a := fn.LimiterAccess(); a != nil {
			lines = append(lines, "user "+fn.LimiterUser()+" "+a.AccessString()+" >"+u[fn.LimiterUser()])
		}
	}
	return lines
}

// functionKeys are each function's AWS credentials: an access key id of its own (letters
// only: DynamoDB Local wants alphanumeric keys) and a random secret, as each Lambda has its
// role's. They return secret by key id and key id by function name.
func functionKeys() (secrets, keyOf map[string]string) {
	secrets, keyOf = map[string]string{accessKey: secretKey}, map[string]string{}
	for _, fn := range manifest.Functions {
		id := "LOCAL" + strings.ToUpper(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, fn.Name))
		keyOf[fn.Name] = id
		secrets[id] = randomPassword()
	}
	return secrets, keyOf
}

// functionOfKey is the function whose access key id signed r (its Authorization header's
// credential); ok is false for the stage's own key and for unsigned requests.
func (s *Stage) functionOfKey(r *http.Request) (manifest.Function, bool) {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return manifest.Function{}, false
	}
	id, _, _ := strings.Cut(cred, "/")
	for name, k := range s.keyOf {
		if k == id {
			return manifest.FunctionByName(name)
		}
	}
	return manifest.Function{}, false
}

func randomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
