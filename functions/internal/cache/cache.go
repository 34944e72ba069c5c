// Package cache is a Redis cache-aside for documents, built for hot keys at high concurrency:
//
//   - TTL with jitter, so keys filled together do not expire together;
//   - one load per key across all function instances: the first miss takes a short Redis lock
//     and loads, the others wait for its value (one Lambda environment serves one request at
//     a time, so in-process merging alone would still send one load per environment);
//   - a fill only lands while its lock is held, and Invalidate deletes value and lock together,
//     so a load that raced a write cannot put the old document back;
//   - short negative caching, so a flood of reads for an unknown key does not reach the source;
//   - Redis is never required: on an error or timeout the read goes to the source, and a
//     breaker skips Redis for a moment so an outage does not add a timeout to every read.
package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"github.com/shop-serverless/shop/functions/internal/pause"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/shop-serverless/shop/functions/internal/breaker"
)

// ErrMissing is what a loader returns (wrapped or not) when the document does not exist; the
// cache remembers that for NegativeTTL and Get returns ErrMissing.
var ErrMissing = errors.New("cache: document missing")

// Status says where a document came from.
type Status string

// Statuses of Get.
const (
	// Hit: served from Redis (possibly filled by another instance while this one waited).
	Hit Status = "hit"
	// Miss: loaded from the source.
	Miss Status = "miss"
)

// Options tunes a Cache; zero fields take the defaults.
type Options struct {
	TTL         time.Duration // default 3600 s, as the article's cache
	Jitter      time.Duration // extra random TTL, default TTL/10
	NegativeTTL time.Duration // how long a missing document is remembered, default 30 s
	LockTTL     time.Duration // how long a loader holds the fill lock, default 3 s
	Wait        time.Duration // how long a waiter waits for another's fill, default LockTTL
	Cooldown    time.Duration // how long Redis is skipped after an error, default 1 s
	// Logger returns the logger for ctx; default slog.Default.
	Logger func(context.Context) *slog.Logger
}

// Cache is safe for concurrent use.
type Cache struct {
	rdb     redis.UniversalClient
	opt     Options
	group   singleflight.Group
	breaker *breaker.Breaker // skips Redis for a cooldown after an error
}

// New returns a cache over rdb; a nil rdb gives a cache that always loads from the source.
func New(rdb redis.UniversalClient, opt Options) *Cache {
	if opt.TTL <= 0 {
		opt.TTL = time.Hour
	}
	if opt.Jitter <= 0 {
		opt.Jitter = opt.TTL / 10
	}
	if opt.NegativeTTL <= 0 {
		opt.NegativeTTL = 30 * time.Second
	}
	if opt.LockTTL <= 0 {
		opt.LockTTL = 3 * time.Second
	}
	if opt.Wait <= 0 {
		opt.Wait = opt.LockTTL
	}
	return &Cache{rdb: rdb, opt: opt, breaker: breaker.New(breaker.Options{
		Cooldown: opt.Cooldown, Logger: opt.Logger, Message: "cache unavailable, reading from the source"})}
}

// Loader reads a document from the source of truth.
type Loader func(ctx context.Context) ([]byte, error)

// tombstone marks a missing document; documents are JSON and never start with a NUL byte.
const tombstone = "\x00missing"

// Keys returns the Redis keys of the document under key: its value and its fill lock. The
// hash tag puts both in one slot, so the fill script and Invalidate also work on a
// cluster-mode cache (ElastiCache Serverless).
func Keys(key string) (value, lock string) {
	value = "c:{" + key + "}"
	return value, value + ":lock"
}

type result struct {
	doc    []byte
	status Status
}

// Get returns the document under key, loading it with load on a miss.
func (c *Cache) Get(ctx context.Context, key string, load Loader) ([]byte, Status, error) {
	// Concurrent calls in this instance share one lookup.
	v, err, _ := c.group.Do(key, func() (any, error) {
		doc, status, err := c.get(ctx, key, load)
		return result{doc, status}, err
	})
	r, _ := v.(result)
	return r.doc, r.status, err
}

func (c *Cache) get(ctx context.Context, key string, load Loader) ([]byte, Status, error) {
	if c.rdb == nil || c.breaker.Allow() != nil {
		doc, err := load(ctx)
		return doc, Miss, err
	}
	valueKey, lockKey := Keys(key)
	doc, err := c.rdb.Get(ctx, valueKey).Bytes()
	switch {
	case err == nil:
		return found(doc)
	case !errors.Is(err, redis.Nil):
		return c.degraded(ctx, "get", err, load)
	}

	token := newToken()
	deadline := time.Now().Add(c.opt.Wait)
	for {
		doc, won, err := c.lock(ctx, valueKey, lockKey, token)
		switch {
		case err != nil:
			return c.degraded(ctx, "lock", err, load)
		case doc != nil:
			return found(doc)
		case won:
			return c.fill(ctx, valueKey, lockKey, token, load)
		}
		doc, ok, err := c.await(ctx, valueKey, lockKey, deadline)
		switch {
		case ctx.Err() != nil:
			return nil, Miss, ctx.Err()
		case err != nil:
			return c.degraded(ctx, "wait", err, load)
		case ok:
			return found(doc)
		case !time.Now().Before(deadline):
			// The loader is too slow: answer from the source rather than keep the shopper waiting.
			doc, err := load(ctx)
			return doc, Miss, err
		}
		// The lock went without a value (its loader failed, or a write invalidated the
		// key): try to take it.
	}
}

// lockScript takes the fill lock only while the value is still missing; otherwise it returns
// the value. A reader whose GET missed may arrive after another instance has filled the key
// and released its lock: a bare SETNX would let it load the source a second time.
var lockScript = redis.NewScript(`
local value = redis.call("GET", KEYS[1])
if value then return {0, value} end
if redis.call("SET", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then return {1} end
return {0}`)

// lock returns the value if another instance stored it meanwhile, or whether the caller now
// holds the fill lock.
func (c *Cache) lock(ctx context.Context, valueKey, lockKey, token string) (doc []byte, won bool, err error) {
	reply, err := lockScript.Run(ctx, c.rdb, []string{valueKey, lockKey}, token, c.opt.LockTTL.Milliseconds()).Slice()
	if err != nil {
		return nil, false, err
	}
	if len(reply) == 2 {
		value, _ := reply[1].(string)
		return []byte(value), false, nil
	}
	won = reply[0] == int64(1)
	return nil, won, nil
}

// A waiter looks for another instance's fill after a pause of firstPoll, doubling up to
// maxPoll.
const (
	firstPoll = 2 * time.Millisecond
	maxPoll   = 40 * time.Millisecond
)

// await waits while another instance holds the fill lock: it returns the document once it
// is there (ok), or nothing once the lock is gone or the deadline has passed.
func (c *Cache) await(ctx context.Context, valueKey, lockKey string, deadline time.Time) (doc []byte, ok bool, err error) {
	for delay := firstPoll; time.Now().Before(deadline); delay = min(delay*2, maxPoll) {
		if err := pause.For(ctx, delay); err != nil {
			return nil, false, err
		}
		pipe := c.rdb.Pipeline()
		get := pipe.Get(ctx, valueKey)
		held := pipe.Exists(ctx, lockKey)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, false, err
		}
		if doc, err := get.Bytes(); err == nil {
			return doc, true, nil
		}
		if held.Val() == 0 {
			return nil, false, nil
		}
	}
	return nil, false, nil
}

// fillScript stores the document only while the caller still holds the lock, then releases it.
var fillScript = redis.NewScript(`
if redis.call("GET", KEYS[2]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
  redis.call("DEL", KEYS[2])
  return 1
end
return 0`)

func (c *Cache) fill(ctx context.Context, valueKey, lockKey, token string, load Loader) ([]byte, Status, error) {
	doc, err := load(ctx)
	value, ttl := doc, c.opt.TTL+time.Duration(mrand.Int64N(int64(c.opt.Jitter)+1))
	switch {
	case errors.Is(err, ErrMissing):
		value, ttl = []byte(tombstone), c.opt.NegativeTTL
	case err != nil:
		// Let the next reader try at once instead of waiting out the lock.
		c.release(ctx, lockKey, token)
		return nil, Miss, err
	}
	if ferr := fillScript.Run(ctx, c.rdb, []string{valueKey, lockKey}, token, value, ttl.Milliseconds()).Err(); ferr != nil {
		c.breaker.Fail(ctx, "fill", ferr)
	}
	return doc, Miss, err
}

var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)

func (c *Cache) release(ctx context.Context, lockKey, token string) {
	if err := releaseScript.Run(ctx, c.rdb, []string{lockKey}, token).Err(); err != nil {
		c.breaker.Fail(ctx, "release", err)
	}
}

// Invalidate removes the cached documents and any fill in flight for them, so the next read
// loads from the source. Callers call it after the write and before they answer.
func (c *Cache) Invalidate(ctx context.Context, key string) error {
	if c.rdb == nil {
		return nil
	}
	valueKey, lockKey := Keys(key)
	return c.rdb.Del(ctx, valueKey, lockKey).Err()
}

func found(doc []byte) ([]byte, Status, error) {
	if string(doc) == tombstone {
		return nil, Hit, ErrMissing
	}
	return doc, Hit, nil
}

// degraded answers from the source when Redis failed, and trips the breaker.
func (c *Cache) degraded(ctx context.Context, op string, err error, load Loader) ([]byte, Status, error) {
	c.breaker.Fail(ctx, op, err)
	doc, lerr := load(ctx)
	return doc, Miss, lerr
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
