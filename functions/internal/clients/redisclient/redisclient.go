// Package redisclient builds a function's Redis client. It is a package of its own so that
// only the functions that declare a cache user link go-redis.
package redisclient

import (
	"context"
	"crypto/tls"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/redisauth"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Of returns c's Redis client, building it the first time (no connection is made until a
// command runs); it fails when the function declares no cache user or the environment names
// no cache.
func Of(c *clients.Clients) (redis.UniversalClient, error) {
	return clients.Get(c, clients.Redis, func() (redis.UniversalClient, error) {
		if c.Config.Redis.Addr == "" {
			return nil, errors.New(manifest.EnvRedisAddr + " is not set")
		}
		return newRedis(c.Config.Redis, c.AWS), nil
	})
}

// LimiterOf returns c's connection as its limiter user, building it the first time; nil
// when the environment names no limiter (the function limits nothing).
func LimiterOf(c *clients.Clients) (redis.UniversalClient, error) {
	if c.Config.Limiter.Addr == "" {
		return nil, nil
	}
	return clients.Get(c, clients.Limiter, func() (redis.UniversalClient, error) {
		return newRedis(c.Config.Limiter, c.AWS), nil
	})
}

// Set makes rdb c's Redis client.
func Set(c *clients.Clients, rdb redis.UniversalClient) { clients.Set(c, clients.Redis, rdb) }

func newRedis(rc clients.RedisConfig, awsCfg aws.Config) redis.UniversalClient {
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
