package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// readLatency is what each counted read waits before it reaches DynamoDB Local, which answers
// on loopback in about a millisecond: a read as slow as the cloud's under load keeps the race
// between concurrent misses as wide as it is there, whatever the machine's scheduling.
const readLatency = 20 * time.Millisecond

// countingClient counts the DynamoDB operations that pass through it and delays each one.
type countingClient struct {
	next aws.HTTPClient
	op   string
	n    *atomic.Int64
}

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+c.op) {
		c.n.Add(1)
		time.Sleep(readLatency)
	}
	return c.next.Do(r)
}

// instance is one catalog function environment: its own clients and in-process state.
type instance struct {
	clients *clients.Clients
	router  api.Router
	store   *catalog.Store
}

func newInstances(ctx context.Context, st *stage.Stage, n int, reads *atomic.Int64) ([]instance, error) {
	fn, _ := manifest.FunctionByName(manifest.Catalog)
	env := st.Env(fn)
	var out []instance
	for range n {
		cfg, err := clients.LoadConfig(env)
		if err != nil {
			return nil, err
		}
		c, err := clients.NewFor(ctx, fn, cfg, env)
		if err != nil {
			return nil, err
		}
		c.WrapHTTP = func(_ clients.Kind, h aws.HTTPClient) aws.HTTPClient {
			return countingClient{next: h, op: "GetItem", n: reads}
		}
		router, err := catalog.Function(ctx, c)
		if err != nil {
			return nil, err
		}
		db, err := dynamoclient.Of(c)
		if err != nil {
			return nil, err
		}
		table, _ := cfg.Table(tables.Products)
		out = append(out, instance{clients: c, router: router, store: catalog.NewStore(db, table)})
	}
	return out, nil
}

// stampedeProduct is the product every request of a stampede reads.
const stampedeProduct = "electronics-07"

// runStampede sends requests concurrent reads of one product, with the cache empty, spread
// over instances independent function instances sharing Redis and DynamoDB; then the same
// with the naive cache-aside (GET, on a miss read DynamoDB and SET); then the same burst
// over environments catalog environments of the Lambda stage l.
func runStampede(ctx context.Context, st *stage.Stage, l *lambdaStage, requests, instances, environments int, rep *Report) error {
	const id = stampedeProduct
	var reads, naiveReads atomic.Int64
	ours, err := newInstances(ctx, st, instances, &reads)
	if err != nil {
		return err
	}
	naive, err := newInstances(ctx, st, instances, &naiveReads)
	if err != nil {
		return err
	}
	defer func() {
		for _, in := range append(ours, naive...) {
			in.clients.Close()
		}
	}()
	// The naive cache-aside keeps its copies outside every function's keys, so it talks to Redis
	// as the stage's all-access user; its DynamoDB reads are still counted per instance.
	rdb := st.Admin.Redis
	if err := rdb.Del(ctx, "c:{"+catalog.CacheKey(id)+"}", "naive:"+id).Err(); err != nil {
		return err
	}

	ev := api.Request{RouteKey: "GET /products/{productId}", PathParameters: map[string]string{"productId": id}}
	failures := burst(requests, func(i int) bool {
		resp, err := ours[i%instances].router.Handle(ctx, ev)
		return err == nil && resp.StatusCode == http.StatusOK
	})
	if failures > 0 {
		return fmt.Errorf("stampede: %d of %d reads failed", failures, requests)
	}
	var naiveThrottled atomic.Int64
	failures = burst(requests, func(i int) bool {
		in := naive[i%instances]
		if _, err := rdb.Get(ctx, "naive:"+id).Bytes(); err == nil {
			return true
		}
		p, err := in.store.Get(ctx, id)
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ThrottlingException" {
			// Its reads of the one key ran past the key's limit, and past the SDK's retries:
			// what a stampede meets in the cloud, counted rather than failed.
			naiveThrottled.Add(1)
			return true
		}
		if err != nil {
			return false
		}
		doc, _ := json.Marshal(p)
		return rdb.Set(ctx, "naive:"+id, doc, time.Hour).Err() == nil
	})
	if failures > 0 {
		return fmt.Errorf("naive stampede: %d of %d reads failed", failures, requests)
	}
	rep.Stampede = Stampede{Requests: requests, Instances: instances, DBReads: reads.Load(), NaiveDBReads: naiveReads.Load(),
		NaiveThrottled: int(naiveThrottled.Load())}
	over, err := stampedeOverEnvironments(ctx, l, requests, environments)
	if err != nil {
		return err
	}
	rep.Stampede.Environments = over
	return nil
}

// stampedeOverEnvironments provisions environments of the catalog function in the Lambda
// stage, empties the cache and releases requests reads of one product at once through the
// gateway, each GetItem delayed as in-process. It counts the catalog's GetItem requests at
// the DynamoDB endpoint, and which environments served the burst.
func stampedeOverEnvironments(ctx context.Context, l *lambdaStage, requests, environments int) (StampedeEnvironments, error) {
	const id = stampedeProduct
	var out StampedeEnvironments
	st, err := l.get(ctx)
	if err != nil {
		return out, err
	}
	pool := st.Pool(manifest.Catalog)
	if pool == nil {
		return out, fmt.Errorf("the stage runs %s, not in environments", st.Runtime())
	}
	if pool.Concurrency() < environments {
		return out, fmt.Errorf("the catalog function runs at most %d environments, want %d", pool.Concurrency(), environments)
	}
	if err := pool.Provision(ctx, environments); err != nil {
		return out, err
	}
	value, lock := cache.Keys(catalog.CacheKey(id))
	if err := st.Admin.Redis.Del(ctx, value, lock).Err(); err != nil {
		return out, err
	}
	out.Provisioned = pool.Stats().Running
	servedBefore, startedBefore, readsBefore := pool.Served(), pool.Stats().Started, catalogGetItems(st)

	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: requests}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	out.Cache = map[string]int{}
	l.slowReads.Store(true)
	failures := burst(requests, func(int) bool {
		resp, err := client.Get(st.URL + "/products/" + id)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		mu.Lock()
		out.Cache[resp.Header.Get("X-Cache")]++
		mu.Unlock()
		return resp.StatusCode == http.StatusOK
	})
	l.slowReads.Store(false)
	if failures > 0 {
		return out, fmt.Errorf("stampede over environments: %d of %d reads failed", failures, requests)
	}
	out.Requests = requests
	out.DBReads = catalogGetItems(st) - readsBefore
	out.ColdStarts = pool.Stats().Started - startedBefore
	for env, n := range pool.Served() {
		if n > servedBefore[env] {
			out.Served++
		}
	}
	return out, nil
}

// catalogGetItems counts the catalog function's GetItem requests so far, on every table, at
// the stage's DynamoDB endpoint.
func catalogGetItems(st *stage.Stage) int64 {
	var n int64
	for caller, u := range st.DynamoDB().Usage() {
		if caller.Function == manifest.Catalog {
			n += u.Operations["GetItem"]
		}
	}
	return n
}

// burst runs n calls at once (all released together) and returns how many failed.
func burst(n int, call func(i int) bool) int {
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if !call(i) {
				failed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(failed.Load())
}
