package manifest

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
)
