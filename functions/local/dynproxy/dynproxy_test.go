package dynproxy_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/shop-serverless/shop/functions/local/dynproxy"
	"github.com/shop-serverless/shop/functions/local/servers"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/tables"
)

const (
	carts   = "test-carts"
	reviews = "test-reviews"
)

// fixture is DynamoDB Local behind a proxy, with a client at the orders function's endpoint.
type fixture struct {
	proxy *dynproxy.Proxy
	db    *dynamodb.Client
}

func start(t *testing.T, limits dynproxy.Limits, now func() time.Time) *fixture {
	t.Helper()
	ctx := context.Background()
	ddb, err := servers.StartDynamoDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ddb.Stop)
	target, _ := url.Parse(ddb.URL())
	p := dynproxy.New(target, dynproxy.Options{
		Tables: map[string]dynproxy.KeySchema{
			carts:   {Hash: tables.Carts.HashKey.Name},
			reviews: {Hash: tables.Reviews.HashKey.Name, Range: tables.Reviews.RangeKey.Name},
		},
		Limits: limits, Region: "us-east-1", Account: "000000000000", Now: now,
	})
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("S3RVER", "S3RVER", "")),
		// One attempt: the test sees each answer the proxy gives.
		config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(srv.URL + "/orders") })
	for name, def := range map[string]tables.Table{carts: tables.Carts, reviews: tables.Reviews} {
		if err := stage.CreateTable(ctx, db, def, name); err != nil {
			t.Fatal(err)
		}
	}
	p.Reset()
	return &fixture{proxy: p, db: db}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func cartKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"userId": s(id)}
}

func bump(table, id string) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: cartKey(id),
		UpdateExpression:          aws.String("ADD n :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}
}

func TestBurstOnOneKeyIsThrottledOthersAreNot(t *testing.T) {
	// A frozen clock: buckets never refill, so the test does not depend on the machine's speed.
	frozen := time.Now()
	f := start(t, dynproxy.Limits{ReadUnits: 30, WriteUnits: 10}, func() time.Time { return frozen })
	ctx := context.Background()

	passed, throttled := 0, 0
	for range 25 {
		_, err := f.db.UpdateItem(ctx, bump(carts, "hot"))
		var te *types.ThrottlingException
		switch {
		case err == nil:
			passed++
		case errors.As(err, &te):
			throttled++
			var re *smithyhttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
				t.Fatalf("throttled with HTTP %v, want 400", err)
			}
			if !strings.HasPrefix(aws.ToString(te.Message), "Throughput exceeds the current capacity of your table or index.") {
				t.Errorf("message %q", aws.ToString(te.Message))
			}
			if len(te.ThrottlingReasons) != 1 || aws.ToString(te.ThrottlingReasons[0].Reason) != "TableWriteKeyRangeThroughputExceeded" ||
				aws.ToString(te.ThrottlingReasons[0].Resource) != "arn:aws:dynamodb:us-east-1:000000000000:table/"+carts {
				t.Errorf("reasons %+v", te.ThrottlingReasons)
			}
		default:
			t.Fatalf("update: %v", err)
		}
	}
	// One write unit each: the key's second of 10 units is spent by the tenth.
	if passed != 10 || throttled != 15 {
		t.Errorf("%d passed, %d throttled; want 10 and 15", passed, throttled)
	}
	for i := range 20 {
		if _, err := f.db.UpdateItem(ctx, bump(carts, fmt.Sprintf("cold-%d", i))); err != nil {
			t.Fatalf("a write on another key: %v", err)
		}
	}
	// Reads have their own limit: the hot key is still readable.
	if _, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(carts), Key: cartKey("hot"), ConsistentRead: aws.Bool(true)}); err != nil {
		t.Fatalf("read of the hot key: %v", err)
	}

	// In a transaction the hot key's item is cancelled with ThrottlingError, the others None.
	_, err := f.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(carts), Item: map[string]types.AttributeValue{"userId": s("fresh")}}},
		{Update: &types.Update{TableName: aws.String(carts), Key: cartKey("hot"), UpdateExpression: aws.String("SET m = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("x")}}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("transaction on the hot key: %v, want TransactionCanceledException", err)
	}
	if r := tce.CancellationReasons; len(r) != 2 || aws.ToString(r[0].Code) != "None" || aws.ToString(r[1].Code) != "ThrottlingError" ||
		!strings.HasPrefix(aws.ToString(r[1].Message), "Throughput exceeds") {
		t.Errorf("cancellation reasons %+v", tce.CancellationReasons)
	}
	if got := aws.ToString(tce.Message); got != "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ThrottlingError]" {
		t.Errorf("message %q", got)
	}
	if _, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(carts), Key: cartKey("fresh"), ConsistentRead: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	u := f.proxy.Usage()[dynproxy.Caller{Function: "orders", Table: carts}]
	if u.Throttled != 16 || u.Requests != 25+20+1+1+1 || u.Operations["UpdateItem"] != 45 || u.WriteUnits != 30 {
		t.Errorf("usage %+v; want 16 throttled of 48 requests, 45 updates, 30 write units", u)
	}
}

// size is an item's size as DynamoDB counts it for string attributes: names and values in bytes.
func size(item map[string]string) int {
	n := 0
	for k, v := range item {
		n += len(k) + len(v)
	}
	return n
}

func units(bytes, per int) float64 { return math.Ceil(float64(bytes) / float64(per)) }

func item(attrs map[string]string) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for k, v := range attrs {
		out[k] = s(v)
	}
	return out
}

func TestCapacityFollowsTheBillingRule(t *testing.T) {
	f := start(t, dynproxy.Limits{}, nil)
	ctx := context.Background()
	small := map[string]string{"userId": "small", "d": strings.Repeat("x", 1500)}
	big := map[string]string{"userId": "big", "d": strings.Repeat("y", 9000)}
	rev1 := map[string]string{"productId": "p", "sortKey": "1", "d": strings.Repeat("r", 1500)}
	rev2 := map[string]string{"productId": "p", "sortKey": "2", "d": strings.Repeat("r", 1500)}
	total := types.ReturnConsumedCapacityTotal

	// Each step: the request, the units the rule gives, and whether the units are reads.
	type step struct {
		name string
		run  func() (*types.ConsumedCapacity, error)
		want float64
		read bool
		// transactional: DynamoDB Local's figure follows no rule; the proxy computes it.
		transactional bool
	}
	steps := []step{
		{"put 1.5 KB", func() (*types.ConsumedCapacity, error) {
			o, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(carts), Item: item(small), ReturnConsumedCapacity: total})
			return capacity(o, err, func(o *dynamodb.PutItemOutput) *types.ConsumedCapacity { return o.ConsumedCapacity })
		}, units(size(small), 1024), false, false},
		{"put 9 KB", func() (*types.ConsumedCapacity, error) {
			o, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(carts), Item: item(big), ReturnConsumedCapacity: total})
			return capacity(o, err, func(o *dynamodb.PutItemOutput) *types.ConsumedCapacity { return o.ConsumedCapacity })
		}, units(size(big), 1024), false, false},
		{"update of a 9 KB item: the whole item", func() (*types.ConsumedCapacity, error) {
			in := bump(carts, "big")
			in.ReturnConsumedCapacity = total
			o, err := f.db.UpdateItem(ctx, in)
			return capacity(o, err, func(o *dynamodb.UpdateItemOutput) *types.ConsumedCapacity { return o.ConsumedCapacity })
		}, units(size(big)+1+2, 1024), false, false},
		{"strongly consistent get of 9 KB", func() (*types.ConsumedCapacity, error) {
			o, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(carts), Key: cartKey("big"), ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: total})
			return capacity(o, err, func(o *dynamodb.GetItemOutput) *types.ConsumedCapacity { return o.ConsumedCapacity })
		}, units(size(big)+1+2, 4096), true, false},
		{"eventually consistent get of 9 KB", func() (*types.ConsumedCapacity, error) {
			o, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(carts), Key: cartKey("big"), ReturnConsumedCapacity: total})
			return capacity(o, err, func(o *dynamodb.GetItemOutput) *types.ConsumedCapacity { return o.ConsumedCapacity })
		}, units(size(big)+1+2, 4096) / 2, true, false},
		{"transaction: 2 units per KB of each item", func() (*types.ConsumedCapacity, error) {
			o, err := f.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ReturnConsumedCapacity: total, TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String(reviews), Item: item(rev1)}},
				{Put: &types.Put{TableName: aws.String(reviews), Item: item(rev2)}},
			}})
			if err != nil {
				return nil, err
			}
			return &o.ConsumedCapacity[0], nil
		}, 2 * (units(size(rev1), 1024) + units(size(rev2), 1024)), false, true},
		{"query: the items' sizes added, then rounded", func() (*types.ConsumedCapacity, error) {
			o, err := f.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(reviews), ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: total,
				KeyConditionExpression:    aws.String("productId = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p")}})
			return capacity(o, err, func(o *dynamodb.QueryOutput) *types.ConsumedCapacity { return o.ConsumedCapacity })
		}, units(size(rev1)+size(rev2), 4096), true, false},
		{"delete of a 9 KB item", func() (*types.ConsumedCapacity, error) {
			o, err := f.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(carts), Key: cartKey("big"), ReturnConsumedCapacity: total})
			return capacity(o, err, func(o *dynamodb.DeleteItemOutput) *types.ConsumedCapacity { return o.ConsumedCapacity })
		}, units(size(big)+1+2, 1024), false, false},
	}
	for _, st := range steps {
		before := f.proxy.Usage()
		reported, err := st.run()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := f.proxy.Usage()
		var metered float64
		for c, u := range after {
			if st.read {
				metered += u.ReadUnits - before[c].ReadUnits
			} else {
				metered += u.WriteUnits - before[c].WriteUnits
			}
		}
		local := aws.ToFloat64(reported.CapacityUnits)
		if metered != st.want || (local != st.want && !st.transactional) {
			t.Errorf("%s: proxy metered %v units, DynamoDB Local reported %v, the rule gives %v", st.name, metered, local, st.want)
		}
	}

	// Unasked, the capacity DynamoDB Local reports to the proxy does not reach the caller.
	o, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(carts), Key: cartKey("small")})
	if err != nil || o.ConsumedCapacity != nil || o.Item == nil {
		t.Errorf("get without ReturnConsumedCapacity: %+v, %v", o, err)
	}
}

func capacity[O any](o *O, err error, field func(*O) *types.ConsumedCapacity) (*types.ConsumedCapacity, error) {
	if err != nil {
		return nil, err
	}
	c := field(o)
	if c == nil {
		return nil, errors.New("no consumed capacity in the answer")
	}
	return c, nil
}

// Concurrent transactions on one key are admitted on the units each will cost, reserved
// before any is forwarded: a burst on a 3 KB item (6 write units each in a transaction) at
// 10 units a second lets exactly one through, however the requests interleave, where
// admitting on a new key's minimum would let five pass and charge them afterwards.
func TestConcurrentTransactionsOnOneKeyAreAdmittedOnTheirSize(t *testing.T) {
	frozen := time.Now()
	f := start(t, dynproxy.Limits{}, func() time.Time { return frozen })
	ctx := context.Background()
	big := map[string]string{"userId": "wide", "d": strings.Repeat("w", 2900)}
	if _, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(carts), Item: item(big)}); err != nil {
		t.Fatal(err)
	}
	f.proxy.SetLimits(dynproxy.Limits{ReadUnits: 30, WriteUnits: 10})
	f.proxy.Reset()

	const burst = 8
	var wg sync.WaitGroup
	var passed, throttled atomic.Int32
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{TableName: aws.String(carts), Key: cartKey("wide"), UpdateExpression: aws.String("SET m = :v"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":v": s(fmt.Sprint(i))}}},
			}})
			var tce *types.TransactionCanceledException
			switch {
			case err == nil:
				passed.Add(1)
			case errors.As(err, &tce) && len(tce.CancellationReasons) == 1 && aws.ToString(tce.CancellationReasons[0].Code) == "ThrottlingError":
				throttled.Add(1)
			default:
				t.Errorf("transaction: %v", err)
			}
		}()
	}
	wg.Wait()
	if passed.Load() != 1 || throttled.Load() != burst-1 {
		t.Errorf("%d passed, %d throttled; want 1 and %d", passed.Load(), throttled.Load(), burst-1)
	}
	want := 2 * units(size(big)+1+1, 1024)
	if u := f.proxy.Usage()[dynproxy.Caller{Function: "orders", Table: carts}]; u.WriteUnits != want || u.Throttled != burst-1 {
		t.Errorf("usage %+v; want %v write units, %d throttled", u, want, burst-1)
	}

	// Another key is not held back by the hot one.
	if _, err := f.db.UpdateItem(ctx, bump(carts, "cool")); err != nil {
		t.Fatalf("a write on another key: %v", err)
	}
	// A write that costs more than a second of the limit passes on a full bucket, and the
	// key then owes it: a 12 KB put at 10 units a second, then nothing for the key.
	huge := map[string]string{"userId": "huge", "d": strings.Repeat("h", 12000)}
	if _, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(carts), Item: item(huge)}); err != nil {
		t.Fatalf("put on a full bucket: %v", err)
	}
	var te *types.ThrottlingException
	if _, err := f.db.UpdateItem(ctx, bump(carts, "huge")); !errors.As(err, &te) {
		t.Errorf("a write on a key that owes units: %v, want ThrottlingException", err)
	}
}
