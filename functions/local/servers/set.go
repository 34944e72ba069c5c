package servers

import (
	"context"
	"errors"
	"os"
)

// Set is one of each server the shop needs.
type Set struct {
	Redis     *Process
	DynamoDB  *Process
	S3        *Process
	dataDir   string
	redisOpts RedisOptions
}

// StartAll starts Redis (with redis's options), DynamoDB Local and s3rver in parallel. On
// error, whatever started is stopped.
func StartAll(ctx context.Context, redis RedisOptions) (*Set, error) {
	dataDir, err := os.MkdirTemp("", "shop-s3-")
	if err != nil {
		return nil, err
	}
	s := &Set{dataDir: dataDir, redisOpts: redis}
	type result struct {
		p   *Process
		err error
	}
	redisc, ddbc, s3c := make(chan result, 1), make(chan result, 1), make(chan result, 1)
	go func() { p, err := StartRedis(ctx, redis); redisc <- result{p, err} }()
	go func() { p, err := StartDynamoDB(ctx); ddbc <- result{p, err} }()
	go func() { p, err := StartS3(ctx, dataDir); s3c <- result{p, err} }()
	r, d, o := <-redisc, <-ddbc, <-s3c
	s.Redis, s.DynamoDB, s.S3 = r.p, d.p, o.p
	if r.p != nil {
		s.redisOpts.Port = r.p.Port()
	}
	if err := errors.Join(r.err, d.err, o.err); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// RestartRedis starts Redis again, stopping it first if it runs, on the same port (where
// every client still points) with the same options and users, and empty.
func (s *Set) RestartRedis(ctx context.Context) error {
	s.Redis.Stop()
	p, err := StartRedis(ctx, s.redisOpts)
	if err != nil {
		return err
	}
	s.Redis = p
	return nil
}

// Stop stops every server of the set and removes its data; safe to call more than once.
func (s *Set) Stop() {
	for _, p := range []*Process{s.Redis, s.DynamoDB, s.S3} {
		if p != nil {
			p.Stop()
		}
	}
	if s.dataDir != "" {
		_ = os.RemoveAll(s.dataDir)
	}
}
