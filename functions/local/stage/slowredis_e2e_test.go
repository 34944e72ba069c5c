package stage_test

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/internal/clients/redisclient"
)

// silentRedis accepts connections and never answers, as a Redis too busy to reply within
// the client's timeout does.
func silentRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := conn.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// When Redis is too slow to answer, the gate cannot decide and DynamoDB's conditions do;
// still, the orders of a sold-out product do not each try a transaction: the instance lets
// at most the units it saw in stock try at once, and once DynamoDB said the product is sold
// out it refuses further orders for a lease without writing. At most one sold-out write
// per lease of the sale.
func TestSoldOutOrdersStayOffDynamoDBWhenRedisIsSlow(t *testing.T) {
	var writes, records atomic.Int64
	addr := silentRedis(t)
	base := ordersInstanceOf(t, func(c *clients.Clients) {
		db, err := dynamoclient.Of(c)
		if err != nil {
			t.Fatal(err)
		}
		dynamoclient.Set(c, dynamodb.New(db.Options(), func(o *dynamodb.Options) {
			o.HTTPClient = writeCounter{next: o.HTTPClient, stock: &writes, records: &records}
		}))
		redisclient.Set(c, redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 100 * time.Millisecond,
			ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond, MaxRetries: -1}))
	})
	const stock = 5
	product := putStockedProduct(t, "slowredis", stock, 999, "USD")
	t0 := time.Now()
	sale := flashSale(t, base, product, "slow", 10, 200, nil)
	leases := int64(time.Since(t0)/time.Second) + 1
	confirmed := 0
	for _, a := range sale {
		switch {
		case a.confirmed():
			confirmed++
		case a.status != http.StatusConflict || a.code != "out_of_stock":
			t.Errorf("attempt %s answered %d %q", a.key, a.status, a.code)
		}
	}
	if confirmed != stock || stockLeft(t, product) != 0 {
		t.Fatalf("%d confirmed, stock %d; want %d and 0", confirmed, stockLeft(t, product), stock)
	}
	if soldOut := writes.Load() - stock; soldOut > leases {
		t.Errorf("sold_out_db_writes %d for %d refused orders over %d lease(s), want at most one per lease",
			soldOut, len(sale)-stock, leases)
	}
}
