package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/shop-serverless/shop/functions/internal/api"
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

// runStampede sends requests concurrent reads of one product, with the cache empty, spread
// over instances independent function instances sharing Redis and DynamoDB; then the same
// with the naive cache-aside (GET, on a miss read DynamoDB and SET).
func runStampede(ctx context.Context, st *stage.Stage, requests, instances int, rep *Report) error {
	const id = "electronics-07"
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
	failures = burst(requests, func(i int) bool {
		in := naive[i%instances]
		if _, err := rdb.Get(ctx, "naive:"+id).Bytes(); err == nil {
			return true
		}
		p, err := in.store.Get(ctx, id)
		if err != nil {
			return false
		}
		doc, _ := json.Marshal(p)
		return rdb.Set(ctx, "naive:"+id, doc, time.Hour).Err() == nil
	})
	if failures > 0 {
		return fmt.Errorf("naive stampede: %d of %d reads failed", failures, requests)
	}
	rep.Stampede = Stampede{Requests: requests, Instances: instances, DBReads: reads.Load(), NaiveDBReads: naiveReads.Load()}
	return nil
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
