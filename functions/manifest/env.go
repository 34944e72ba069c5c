package manifest

import (
	"maps"

	"github.com/shop-serverless/shop/functions/tables"
)

// Environment variables through which the infrastructure program (and the local stage)
// configures the functions. Table names come from tables.Table.EnvVar. Endpoints come from
// the SDK's standard AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3.
const (
	// EnvImagesBucket is the images bucket's name.
	EnvImagesBucket = "IMAGES_BUCKET"
	// EnvImagesBaseURL is the public base URL of images (the CloudFront distribution), no trailing slash.
	EnvImagesBaseURL = "IMAGES_BASE_URL"
	// EnvRedisAddr is the cache endpoint, "host:port".
	EnvRedisAddr = "REDIS_ADDR"
	// EnvRedisTLS is "true" when the cache requires TLS (always in the cloud).
	EnvRedisTLS = "REDIS_TLS"
	// EnvRedisCluster is "true" when the cache runs in cluster mode (ElastiCache Serverless).
	EnvRedisCluster = "REDIS_CLUSTER"
	// EnvRedisUser is the function's own cache user (RBAC user in the cloud, ACL user locally).
	EnvRedisUser = "REDIS_USER"
	// EnvRedisPassword is that user's password. Only the local stage sets it (Redis ACL
	// users, one random password each per run): in the cloud functions authenticate with
	// IAM tokens they sign themselves (EnvRedisIAMCache).
	EnvRedisPassword = "REDIS_PASSWORD"
	// EnvRedisIAMCache is the replication group or serverless cache name; when set, functions
	// authenticate with short-lived IAM tokens they sign themselves.
	EnvRedisIAMCache = "REDIS_IAM_CACHE"
	// EnvRedisServerless is "true" when EnvRedisIAMCache names a serverless cache.
	EnvRedisServerless = "REDIS_SERVERLESS"
	// EnvRedisPoolSize caps the function's Redis connections; unset: go-redis's default. A
	// Lambda environment serves one request at a time, so only the local stage, where one
	// process stands in for many environments, sets it.
	EnvRedisPoolSize = "REDIS_POOL_SIZE"
	// EnvRedisTimeout is the Redis read/write timeout as a Go duration; unset: 100ms. Only
	// the local stage raises it: there one process on shared cores plays thousands of
	// Lambda environments, and the scheduler's delays are not Redis being slow.
	EnvRedisTimeout = "REDIS_TIMEOUT"
	// EnvConcurrentRequests is how many requests one process of the function serves at once;
	// unset: 1, as a Lambda environment does. Only the local stage sets it: there one process
	// stands in for as many environments as requests are in flight.
	EnvConcurrentRequests = "CONCURRENT_REQUESTS"
	// EnvCartTTL is how long an idle cart lives, as a Go duration ("720h").
	EnvCartTTL = "CART_TTL"
	// EnvLogLevel is the slog level: debug, info, warn or error.
	EnvLogLevel = "LOG_LEVEL"
	// EnvOriginVerifiers are the verifiers of the values of OriginHeader the function accepts
	// (OriginVerifiers: SHA-256 digests, never a secret itself), so that checking the edge's
	// header costs no call at start.
	EnvOriginVerifiers = "ORIGIN_VERIFIERS"
)

// Defaults of the stage settings, where a stack's configuration sets none.
const (
	DefaultLogLevel = "info"
	DefaultCartTTL  = "720h"
)

// Links are what one stage's resources put into the environment of the functions that
// declare them, as values of V: Pulumi inputs in the infrastructure program, strings on the
// local stage. Which variables a function gets is decided by its entry alone (Environment);
// a stage decides only their values.
type Links[V any] struct {
	// Settings are the stage's settings by variable: EnvLogLevel, EnvUserLimits and every
	// variable a function's Settings name.
	Settings map[string]V
	// Table is the deployed name of t.
	Table func(t tables.Table) V
	// Bucket are the images bucket's variables: EnvImagesBucket and EnvImagesBaseURL.
	Bucket map[string]V
	// Cache are the variables through which the cache user named user connects: the
	// endpoint and how it authenticates.
	Cache func(user string) map[string]V
	// OriginVerifiers is EnvOriginVerifiers' value for the functions that check OriginHeader;
	// nil where the stage checks the header itself (the local stage in-process).
	OriginVerifiers *V
}

// Environment is the environment of f on the stage whose resources links describes: the log
// level and the settings f reads, the names of the tables its grants name, the bucket's
// variables when it has bucket grants, its cache user's connection when it has a cache, the
// per-user limits and its limiter user's connection (LimiterEnvPrefix) when a route of it is
// limited, and the origin secret's verifiers when it checks the edge's header.
func Environment[V any](f Function, links Links[V]) map[string]V {
	env := map[string]V{EnvLogLevel: links.Settings[EnvLogLevel]}
	for _, k := range f.Settings {
		env[k] = links.Settings[k]
	}
	for _, t := range f.TablesUsed() {
		env[t.EnvVar] = links.Table(t)
	}
	if len(f.Bucket) > 0 {
		maps.Copy(env, links.Bucket)
	}
	if f.Cache != nil {
		maps.Copy(env, links.Cache(f.Name))
	}
	if f.LimiterAccess() != nil {
		env[EnvUserLimits] = links.Settings[EnvUserLimits]
		for k, v := range links.Cache(f.LimiterUser()) {
			env[LimiterEnvPrefix+k] = v
		}
	}
	if links.OriginVerifiers != nil && f.ChecksOrigin() {
		env[EnvOriginVerifiers] = *links.OriginVerifiers
	}
	return env
}
