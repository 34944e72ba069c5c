// Package cors holds the rule for the browser origins the shop's API and images bucket
// allow, so the components and the stack configuration check them alike.
package cors

import (
	"fmt"
	"net/url"
)

// CheckOrigin refuses what is not one exact origin, scheme://host[:port]: browsers send
// the Origin header without path, query or trailing slash, so anything else never
// matches, and "*" would let any site call with a user's token or a leaked upload URL.
func CheckOrigin(origin string) error {
	if origin == "*" {
		return fmt.Errorf(`"*" would let any site call with a user's token or a leaked upload URL; list the origins`)
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("%q must be an origin, scheme://host[:port]", origin)
	}
	return nil
}
