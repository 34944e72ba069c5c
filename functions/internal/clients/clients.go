// Package clients builds, once per function instance, the SDK and Redis clients a function
// needs, from environment variables that the infrastructure program sets in the cloud and the
// local stage sets locally. Endpoints come from the SDK's standard AWS_ENDPOINT_URL variables,
// so the same binary runs against AWS or the local emulators with no code path of its own.
package clients

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/redisauth"
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

// Clients holds the clients of one function instance.
type Clients struct {
	Config   Config
	AWS      aws.Config
	DynamoDB *dynamodb.Client
	S3       *s3.Client
	// Redis is nil when the function has no cache configured.
	Redis redis.UniversalClient
	// Limiter is the limiter user's connection; nil when the function limits nothing.
	Limiter redis.UniversalClient
}

// New builds the clients described by cfg. Static credentials in env (the local stage's)
// take precedence; otherwise the SDK's default chain (the Lambda role) applies.
func New(ctx context.Context, cfg Config, env Env) (*Clients, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(cfg.Region),
		config.WithRetryer(func() aws.Retryer { return newRetryer(cfg.ConcurrentRequests) })}
	if id, secret := env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, secret, env("AWS_SESSION_TOKEN"))))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	c := &Clients{Config: cfg, AWS: awsCfg}
	c.DynamoDB = dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, answerTransientAsUnavailable(o.Retryer))
		if cfg.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoDBEndpoint)
		}
	})
	c.S3 = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, answerTransientAsUnavailable(o.Retryer))
		if cfg.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.S3Endpoint)
			o.UsePathStyle = true
		}
	})
	if cfg.Redis.Addr != "" {
		c.Redis = newRedis(cfg.Redis, awsCfg)
	}
	if cfg.Limiter.Addr != "" {
		c.Limiter = newRedis(cfg.Limiter, awsCfg)
	}
	return c, nil
}

// Close releases the Redis connections.
func (c *Clients) Close() error {
	var errs []error
	for _, r := range []redis.UniversalClient{c.Redis, c.Limiter} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	return errors.Join(errs...)
}

func newRedis(rc RedisConfig, awsCfg aws.Config) redis.UniversalClient {
	var tlsCfg *tls.Config
	if rc.TLS {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	var creds func(context.Context) (string, string, error)
	if rc.IAMCache != "" {
		creds = redisauth.NewTokenProvider(awsCfg, rc.IAMCache, rc.User, rc.Serverless)
	}
	if rc.Cluster {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                      []string{rc.Addr},
			TLSConfig:                  tlsCfg,
			Username:                   rc.User,
			Password:                   rc.Password,
			CredentialsProviderContext: creds,
			DialTimeout:                rc.Timeout * 5 / 2,
			DialerRetries:              1,
			PoolSize:                   rc.PoolSize,
			ReadTimeout:                rc.Timeout,
			WriteTimeout:               rc.Timeout,
			MaxRetries:                 1,
		})
	}
	return redis.NewClient(&redis.Options{
		Addr:                       rc.Addr,
		TLSConfig:                  tlsCfg,
		Username:                   rc.User,
		Password:                   rc.Password,
		CredentialsProviderContext: creds,
		DialTimeout:                rc.Timeout * 5 / 2,
		DialerRetries:              1, // one attempt: the cache is optional, the shopper is waiting
		PoolSize:                   rc.PoolSize,
		ReadTimeout:                rc.Timeout,
		WriteTimeout:               rc.Timeout,
		MaxRetries:                 -1,
	})
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
