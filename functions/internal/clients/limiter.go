package clients

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shop-serverless/shop/functions/manifest"
)

// limiterConfig reads the connection of the function's limiter user: the cache variables
// under manifest.LimiterEnvPrefix. An empty Addr: the function limits nothing.
func limiterConfig(env Env) (RedisConfig, error) {
	get := func(k string) string { return env(manifest.LimiterEnvPrefix + k) }
	rc := RedisConfig{
		Addr:     get(manifest.EnvRedisAddr),
		User:     get(manifest.EnvRedisUser),
		Password: get(manifest.EnvRedisPassword),
		IAMCache: get(manifest.EnvRedisIAMCache),
		Timeout:  redisIOTimeout,
	}
	var errs []error
	for key, dst := range map[string]*bool{
		manifest.EnvRedisTLS: &rc.TLS, manifest.EnvRedisCluster: &rc.Cluster, manifest.EnvRedisServerless: &rc.Serverless,
	} {
		if v := get(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s=%q: not a boolean", manifest.LimiterEnvPrefix, key, v))
			}
			*dst = b
		}
	}
	if v := get(manifest.EnvRedisPoolSize); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s%s=%q: not a positive integer", manifest.LimiterEnvPrefix, manifest.EnvRedisPoolSize, v))
		}
		rc.PoolSize = n
	}
	if v := get(manifest.EnvRedisTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s%s=%q: not a positive duration", manifest.LimiterEnvPrefix, manifest.EnvRedisTimeout, v))
		}
		rc.Timeout = d
	}
	return rc, errors.Join(errs...)
}
