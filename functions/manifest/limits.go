package manifest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// Per-user rate limits. A signed-in route that writes names one of the limits below; the
// function that serves it counts each user's requests to it in Redis (GCRA: one script, one
// round trip) and answers 429 rate_limited with Retry-After over the user's rate. The
// rates are stack settings (shop:userLimits), the defaults DefaultUserLimits; the function
// gets them in EnvUserLimits. Where Redis cannot be reached the function lets requests
// through: an outage of the cache never locks shoppers out.
//
// The limiter runs as a cache user of its own per function (LimiterUser), allowed only
// its script's commands on only that function's limiter keys, so that limiting widens no
// function's access to its other keys: a Redis ACL user's commands apply to all its keys.

// Names of the per-user limits.
const (
	LimitCheckout = "checkout"
	LimitCart     = "cart"
	LimitReviews  = "reviews"
	LimitAdmin    = "adminWrites"
)

// UserLimit is one user's allowance on the routes of a limit: PerMinute requests a minute
// on average, Burst at once.
type UserLimit struct {
	PerMinute int `json:"perMinute" yaml:"perMinute"`
	Burst     int `json:"burst" yaml:"burst"`
}

// DefaultUserLimits are the limits where a stack's configuration sets none: generous for a
// person, tight for a script.
var DefaultUserLimits = map[string]UserLimit{
	LimitCheckout: {PerMinute: 20, Burst: 10},
	LimitCart:     {PerMinute: 120, Burst: 30},
	LimitReviews:  {PerMinute: 6, Burst: 3},
	LimitAdmin:    {PerMinute: 300, Burst: 60},
}

// LimitNames are the limits' names, sorted.
func LimitNames() []string {
	out := make([]string, 0, len(DefaultUserLimits))
	for k := range DefaultUserLimits {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EnvUserLimits carries the per-user limits as JSON, {"checkout": {"perMinute": 20,
// "burst": 10}, ...}, to the functions that limit (UserLimitsSetting makes the value).
const EnvUserLimits = "USER_RATE_LIMITS"

// LimiterEnvPrefix prefixes the cache variables (EnvRedisAddr and the rest) of a
// function's limiter user: RATE_LIMIT_REDIS_ADDR, RATE_LIMIT_REDIS_USER, ...
const LimiterEnvPrefix = "RATE_LIMIT_"

// UserLimitsSetting renders limits as EnvUserLimits' value, every limit present (a limit
// missing from limits keeps its default).
func UserLimitsSetting(limits map[string]UserLimit) string {
	all := map[string]UserLimit{}
	for k, v := range DefaultUserLimits {
		all[k] = v
	}
	for k, v := range limits {
		all[k] = v
	}
	b, _ := json.Marshal(all) // a map of plain structs always encodes
	return string(b)
}

// ParseUserLimits reads EnvUserLimits' value; every limit must be known and positive.
func ParseUserLimits(s string) (map[string]UserLimit, error) {
	var out map[string]UserLimit
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvUserLimits, err)
	}
	for k, v := range out {
		if _, ok := DefaultUserLimits[k]; !ok {
			return nil, fmt.Errorf("%s: unknown limit %q", EnvUserLimits, k)
		}
		if v.PerMinute <= 0 || v.Burst <= 0 {
			return nil, fmt.Errorf("%s: limit %q needs a positive perMinute and burst", EnvUserLimits, k)
		}
	}
	return out, nil
}

// limiterCommands are the commands of go-redis/redis_rate's GCRA script (EVALSHA, EVAL
// when the script is not loaded yet) and of the script itself (TIME, GET, SET).
var limiterCommands = []string{"evalsha", "eval", "time", "get", "set"}

// LimiterKey is the key of user's count on the routes of limit in function's limiter,
// without redis_rate's own "rate:" prefix, which LimiterAccess's pattern adds.
func LimiterKey(function, limit, user string) string {
	return function + ":" + limit + ":" + user
}

// LimiterUser is the name of the function's limiter cache user ("orderslimits": cache user
// names are lower-case letters and digits).
func (f Function) LimiterUser() string { return f.Name + "limits" }

// Limits are the limits the function's routes name, each once, in route order.
func (f Function) Limits() []string {
	var out []string
	for _, r := range f.Routes {
		if r.Limit != "" && !slices.Contains(out, r.Limit) {
			out = append(out, r.Limit)
		}
	}
	return out
}

// LimiterAccess is the access of the function's limiter user: the limiter's commands on
// the function's own limiter keys; nil when no route of the function is limited.
func (f Function) LimiterAccess() *CacheAccess {
	if len(f.Limits()) == 0 {
		return nil
	}
	return &CacheAccess{Keys: []string{"rate:" + f.Name + ":*"}, Commands: limiterCommands}
}

// UsesCache says whether the function connects to the cache at all: as its own user, as
// its limiter's, or both. Such a function runs in the VPC.
func (f Function) UsesCache() bool { return f.Cache != nil || f.LimiterAccess() != nil }
