package cache_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/local/servers"
)

var redisAddr string

func TestMain(m *testing.M) {
	p, err := servers.StartRedis(context.Background(), servers.RedisOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	redisAddr = p.Addr
	code := m.Run()
	p.Stop()
	os.Exit(code)
}

// instance is one function environment: its own Redis client and in-process state.
func instance(t *testing.T, opt cache.Options) (*cache.Cache, *redis.Client) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	return cache.New(rdb, opt), rdb
}

// counter is a loader that counts its calls and takes a while, as a DynamoDB read does.
type counter struct {
	calls atomic.Int64
	delay time.Duration
	doc   string
}

func (c *counter) load(ctx context.Context) ([]byte, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	return []byte(c.doc), nil
}

func TestMissThenHit(t *testing.T) {
	c, rdb := instance(t, cache.Options{TTL: time.Hour, Jitter: time.Minute})
	src := &counter{doc: `{"v":1}`}
	ctx := context.Background()
	doc, st, err := c.Get(ctx, "k-miss-hit", src.load)
	if err != nil || st != cache.Miss || string(doc) != src.doc {
		t.Fatalf("first: %s %s %v", doc, st, err)
	}
	doc, st, err = c.Get(ctx, "k-miss-hit", src.load)
	if err != nil || st != cache.Hit || string(doc) != src.doc {
		t.Fatalf("second: %s %s %v", doc, st, err)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("loaded %d times, want 1", n)
	}
	ttl := rdb.TTL(ctx, "c:{k-miss-hit}").Val()
	if ttl < 59*time.Minute || ttl > 61*time.Minute+time.Second {
		t.Errorf("TTL %s, want 1h plus up to 1m of jitter", ttl)
	}
}

// 1,000 concurrent misses for one key over 8 instances (as 8 Lambda environments) read the
// source once.
func TestStampedeLoadsOnceAcrossInstances(t *testing.T) {
	src := &counter{doc: `{"hot":true}`, delay: 30 * time.Millisecond}
	var caches []*cache.Cache
	for range 8 {
		c, _ := instance(t, cache.Options{})
		caches = append(caches, c)
	}
	var wg sync.WaitGroup
	var hits, misses, failures atomic.Int64
	start := make(chan struct{})
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			doc, st, err := caches[i%8].Get(context.Background(), "k-stampede", src.load)
			switch {
			case err != nil || string(doc) != src.doc:
				failures.Add(1)
			case st == cache.Hit:
				hits.Add(1)
			default:
				misses.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source read %d times for 1000 concurrent misses, want 1", n)
	}
	if failures.Load() != 0 {
		t.Errorf("%d requests failed", failures.Load())
	}
	t.Logf("hits %d, misses %d (requests merged in process share the miss)", hits.Load(), misses.Load())
}

// afterFirstMiss runs fn once, right after the first GET of key through the client it hooks
// answers nil: the moment between a reader's miss and its attempt to take the fill lock.
type afterFirstMiss struct {
	key  string
	once sync.Once
	fn   func()
}

func (h *afterFirstMiss) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *afterFirstMiss) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *afterFirstMiss) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if args := cmd.Args(); len(args) == 2 && args[0] == "get" && args[1] == h.key && errors.Is(err, redis.Nil) {
			h.once.Do(h.fn)
		}
		return err
	}
}

// A reader whose GET missed, while another instance filled the key and released the lock
// before the reader reached for it, takes the stored value instead of loading again.
func TestMissRacingACompletedFillLoadsOnce(t *testing.T) {
	src := &counter{doc: `{"raced":true}`}
	ctx := context.Background()
	late, lateRedis := instance(t, cache.Options{})
	early, _ := instance(t, cache.Options{})
	valueKey, _ := cache.Keys("k-miss-race")
	lateRedis.AddHook(&afterFirstMiss{key: valueKey, fn: func() {
		if _, st, err := early.Get(ctx, "k-miss-race", src.load); err != nil || st != cache.Miss {
			t.Errorf("early reader: %s %v", st, err)
		}
	}})
	doc, st, err := late.Get(ctx, "k-miss-race", src.load)
	if err != nil || string(doc) != src.doc || st != cache.Hit {
		t.Fatalf("late reader: %s %s %v, want the early reader's document as a hit", doc, st, err)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source read %d times, want 1", n)
	}
}

// A write that invalidates the key while a load is in flight wins: the old document the load
// read is not stored.
func TestInvalidateDuringFillKeepsOldDocumentOut(t *testing.T) {
	c, rdb := instance(t, cache.Options{})
	ctx := context.Background()
	loading, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _ = c.Get(ctx, "k-race", func(context.Context) ([]byte, error) {
			close(loading)
			<-release
			return []byte(`{"version":"old"}`), nil
		})
	}()
	<-loading
	if err := c.Invalidate(ctx, "k-race"); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	if n := rdb.Exists(ctx, "c:{k-race}").Val(); n != 0 {
		t.Fatalf("the stale document was stored after the invalidation")
	}
	other, _ := instance(t, cache.Options{})
	doc, st, _ := other.Get(ctx, "k-race", func(context.Context) ([]byte, error) { return []byte(`{"version":"new"}`), nil })
	if string(doc) != `{"version":"new"}` || st != cache.Miss {
		t.Errorf("after the write: %s (%s)", doc, st)
	}
}

func TestMissingDocumentsAreRememberedBriefly(t *testing.T) {
	c, rdb := instance(t, cache.Options{NegativeTTL: 5 * time.Second})
	ctx := context.Background()
	var calls atomic.Int64
	load := func(context.Context) ([]byte, error) {
		calls.Add(1)
		return nil, fmt.Errorf("product x: %w", cache.ErrMissing)
	}
	for range 5 {
		if _, _, err := c.Get(ctx, "k-missing", load); !errors.Is(err, cache.ErrMissing) {
			t.Fatalf("err %v, want ErrMissing", err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("source read %d times, want 1", calls.Load())
	}
	if ttl := rdb.TTL(ctx, "c:{k-missing}").Val(); ttl <= 0 || ttl > 5*time.Second {
		t.Errorf("negative entry TTL %s, want at most 5s", ttl)
	}
}

func TestLoaderErrorsAreNotCachedAndReleaseTheLock(t *testing.T) {
	c, rdb := instance(t, cache.Options{})
	ctx := context.Background()
	boom := errors.New("dynamodb unavailable")
	if _, _, err := c.Get(ctx, "k-err", func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if rdb.Exists(ctx, "c:{k-err}", "c:{k-err}:lock").Val() != 0 {
		t.Error("a failed load left a value or its lock behind")
	}
}

// With Redis broken (it accepts connections and drops them), reads come from the source
// without error, and after the first failure Redis is left alone for the cooldown.
func TestRedisDownReadsFromSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(),
		DialTimeout: 50 * time.Millisecond, DialerRetries: 1, MaxRetries: -1})
	defer rdb.Close()
	c := cache.New(rdb, cache.Options{Cooldown: time.Minute})
	src := &counter{doc: `{"ok":1}`}
	for range 20 {
		doc, st, err := c.Get(context.Background(), "k-down", src.load)
		if err != nil || string(doc) != src.doc || st != cache.Miss {
			t.Fatalf("%s %s %v", doc, st, err)
		}
	}
	if src.calls.Load() != 20 {
		t.Errorf("source read %d times, want every read", src.calls.Load())
	}
	if n := accepted.Load(); n > 2 {
		t.Errorf("Redis was tried %d times during the cooldown, want once", n)
	}
}

func TestNilClientAlwaysLoads(t *testing.T) {
	c := cache.New(nil, cache.Options{})
	src := &counter{doc: "{}"}
	for range 3 {
		if _, st, err := c.Get(context.Background(), "k", src.load); err != nil || st != cache.Miss {
			t.Fatal(st, err)
		}
	}
	if src.calls.Load() != 3 {
		t.Errorf("calls %d", src.calls.Load())
	}
}
