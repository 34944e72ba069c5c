// Package clients builds, once per function instance, the SDK and Redis clients a function
// needs, from environment variables that the infrastructure program sets in the cloud and the
// local stage sets locally. Endpoints come from the SDK's standard AWS_ENDPOINT_URL variables,
// so the same binary runs against AWS or the local emulators with no code path of its own.
package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"

	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// Env looks up an environment variable; os.Getenv in Lambda, a per-function map locally.
type Env func(key string) string

// Redis timeouts are short on purpose: a slow cache must cost a read little before the
// function falls back to DynamoDB.
const (
	redisIOTimeout = 100 * time.Millisecond
)

// Config is a function's configuration, read from its environment.
type Config struct {
	Region           string
	DynamoDBEndpoint string
	S3Endpoint       string
	// Tables maps a logical table name (tables.Table.Name) to its deployed name.
	Tables        map[string]string
	ImagesBucket  string
	ImagesBaseURL string
	Redis         RedisConfig
	// Limiter is the connection of the function's limiter user (per-user rate limits).
	Limiter RedisConfig
	CartTTL time.Duration
	// ConcurrentRequests is how many requests the process serves at once: 1 in Lambda.
	ConcurrentRequests int
}

// RedisConfig says how to reach the cache; an empty Addr means the function uses none.
type RedisConfig struct {
	Addr    string
	TLS     bool
	Cluster bool
	User    string
	// Password authenticates User where there is no IAM (the local stage).
	Password   string
	IAMCache   string
	Serverless bool
	PoolSize   int
	// Timeout bounds each Redis call (and, with 2.5x, each dial).
	Timeout time.Duration
}

// LoadConfig reads the configuration from env.
func LoadConfig(env Env) (Config, error) {
	c := Config{
		Region:           first(env("AWS_REGION"), env("AWS_DEFAULT_REGION"), "us-east-1"),
		DynamoDBEndpoint: first(env("AWS_ENDPOINT_URL_DYNAMODB"), env("AWS_ENDPOINT_URL")),
		S3Endpoint:       first(env("AWS_ENDPOINT_URL_S3"), env("AWS_ENDPOINT_URL")),
		Tables:           map[string]string{},
		ImagesBucket:     env(manifest.EnvImagesBucket),
		ImagesBaseURL:    strings.TrimSuffix(env(manifest.EnvImagesBaseURL), "/"),
		Redis: RedisConfig{
			Addr:     env(manifest.EnvRedisAddr),
			User:     env(manifest.EnvRedisUser),
			Password: env(manifest.EnvRedisPassword),
			IAMCache: env(manifest.EnvRedisIAMCache),
		},
		CartTTL:            30 * 24 * time.Hour,
		ConcurrentRequests: 1,
	}
	c.Redis.Timeout = redisIOTimeout
	var errs []error
	for _, t := range tables.All {
		if name := env(t.EnvVar); name != "" {
			c.Tables[t.Name] = name
		}
	}
	for key, dst := range map[string]*bool{
		manifest.EnvRedisTLS:        &c.Redis.TLS,
		manifest.EnvRedisCluster:    &c.Redis.Cluster,
		manifest.EnvRedisServerless: &c.Redis.Serverless,
	} {
		if v := env(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a boolean", key, v))
			}
			*dst = b
		}
	}
	if v := env(manifest.EnvRedisPoolSize); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: not a positive integer", manifest.EnvRedisPoolSize, v))
		}
		c.Redis.PoolSize = n
	}
	if v := env(manifest.EnvConcurrentRequests); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: not a positive integer", manifest.EnvConcurrentRequests, v))
		}
		c.ConcurrentRequests = n
	}
	if v := env(manifest.EnvRedisTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: not a positive duration", manifest.EnvRedisTimeout, v))
		}
		c.Redis.Timeout = d
	}
	if v := env(manifest.EnvCartTTL); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: not a positive duration", manifest.EnvCartTTL, v))
		}
		c.CartTTL = d
	}
	limiter, err := limiterConfig(env)
	c.Limiter = limiter
	errs = append(errs, err)
	return c, errors.Join(errs...)
}

// Table returns the deployed name of t, or an error naming the missing variable.
func (c Config) Table(t tables.Table) (string, error) {
	if name := c.Tables[t.Name]; name != "" {
		return name, nil
	}
	return "", fmt.Errorf("%s is not set", t.EnvVar)
}

// Kind names a client a function's manifest entry may declare.
type Kind string

// The clients a function may have: DynamoDB for its table grants, S3 for its bucket grants,
// Redis for its cache user, Limiter for the routes that name a per-user limit.
const (
	DynamoDB Kind = "dynamodb"
	S3       Kind = "s3"
	Redis    Kind = "redis"
	// Limiter is the connection of the function's limiter user (manifest.LimiterUser).
	Limiter Kind = "limiter"
)

// Declared are the clients fn's entry declares, in the order of the kinds above.
func Declared(fn manifest.Function) []Kind {
	var out []Kind
	if len(fn.Tables) > 0 {
		out = append(out, DynamoDB)
	}
	if len(fn.Bucket) > 0 {
		out = append(out, S3)
	}
	if fn.Cache != nil {
		out = append(out, Redis)
	}
	if fn.LimiterAccess() != nil {
		out = append(out, Limiter)
	}
	return out
}

// Clients holds the configuration of one function instance and the clients built for it.
// Each service client is built by its own package (dynamoclient, s3client, redisclient), so
// a function links, and runs the package initialisation of, only the SDK code it calls.
type Clients struct {
	Config Config
	AWS    aws.Config
	// WrapHTTP, when set, wraps the HTTP client of each AWS service client as it is built,
	// with the kind it serves (the local stage's IAM).
	WrapHTTP func(k Kind, c aws.HTTPClient) aws.HTTPClient

	// allowed are the kinds that may be built; nil: any (the stage's admin, tests).
	allowed []Kind
	mu      sync.Mutex
	built   map[Kind]any
}

// New builds the AWS configuration described by cfg, for clients of any kind, from the
// variables Lambda sets: the region and the execution role's credentials (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; valid as long as the environment lives), as
// the local stage sets them too. It is not the SDK's config.LoadDefaultConfig: that chain
// links the SSO, SSO OIDC, STS, sign-in and IMDS clients, whose package initialisation ran
// at every cold start for credentials Lambda never gets from them. Of what it resolves, the
// functions keep its defaults explicitly (checksums when supported, account-id endpoints
// preferred, SDK warnings to stderr) and set the retryer; endpoints come from
// AWS_ENDPOINT_URL_<SERVICE> (LoadConfig) as before. Without credentials every AWS call
// fails with ErrNoCredentials.
func New(ctx context.Context, cfg Config, env Env) (*Clients, error) {
	var creds aws.CredentialsProvider = missingCredentials{}
	if id, secret := env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		creds = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, env("AWS_SESSION_TOKEN")))
	}
	awsCfg := aws.Config{
		Region:      cfg.Region,
		Credentials: creds,
		Retryer:     func() aws.Retryer { return newRetryer(cfg.ConcurrentRequests) },
		Logger:      logging.NewStandardLogger(os.Stderr),
		// LoadDefaultConfig's defaults, which a service client would otherwise leave unset
		// (S3 would then compute and check no checksum it is not required to).
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		AccountIDEndpointMode:      aws.AccountIDEndpointModePreferred,
	}
	return &Clients{Config: cfg, AWS: awsCfg, built: map[Kind]any{}}, nil
}

// ErrNoCredentials fails each AWS call of a process started without credentials (never in
// Lambda): a function that calls no AWS service still starts.
var ErrNoCredentials = errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them for the execution role)")

type missingCredentials struct{}

func (missingCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, ErrNoCredentials
}

// NewFor is New for the function fn: only the clients its entry declares may be built.
func NewFor(ctx context.Context, fn manifest.Function, cfg Config, env Env) (*Clients, error) {
	c, err := New(ctx, cfg, env)
	if err != nil {
		return nil, err
	}
	c.allowed = Declared(fn)
	if c.allowed == nil {
		c.allowed = []Kind{}
	}
	return c, nil
}

// Get returns c's client of kind k, building it with build the first time. It fails when
// the function's entry does not declare k.
func Get[T any](c *Clients, k Kind, build func() (T, error)) (T, error) {
	var zero T
	if c == nil {
		return zero, fmt.Errorf("no %s client: no clients", k)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.allowed != nil && !slices.Contains(c.allowed, k) {
		return zero, fmt.Errorf("no %s client: the function's manifest entry declares none", k)
	}
	if v, ok := c.built[k]; ok {
		return v.(T), nil
	}
	v, err := build()
	if err != nil {
		return zero, fmt.Errorf("%s client: %w", k, err)
	}
	if c.built == nil {
		c.built = map[Kind]any{}
	}
	c.built[k] = v
	return v, nil
}

// Set makes v c's client of kind k (tests that route a function's calls elsewhere).
func Set[T any](c *Clients, k Kind, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.built == nil {
		c.built = map[Kind]any{}
	}
	c.built[k] = v
}

// Built are the kinds of the clients built so far, sorted.
func (c *Clients) Built() []Kind {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.built))
}

// Close releases the clients that hold connections (Redis).
func (c *Clients) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, v := range c.built {
		if cl, ok := v.(io.Closer); ok {
			errs = append(errs, cl.Close())
		}
	}
	return errors.Join(errs...)
}

// HTTPClient is the HTTP client of c's service client of kind k: h, wrapped by WrapHTTP if
// it is set.
func (c *Clients) HTTPClient(k Kind, h aws.HTTPClient) aws.HTTPClient {
	if c.WrapHTTP != nil {
		return c.WrapHTTP(k, h)
	}
	return h
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
