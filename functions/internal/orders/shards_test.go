package orders

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A sharded line's cancellation reasons come as its shards'. A shard that failed its
// condition holding the layout the line read (price, currency, generation) is short; one
// gone or stamped by a later admin write means the product changed (priced and planned
// again); a taken key wins over everything.
func TestClassifyTakesReadsTheShardsStamp(t *testing.T) {
	o := Order{Items: []Item{{ProductID: "p", Quantity: 1, Price: 5, Currency: "USD"}},
		layouts: map[string]layout{"p": {shards: 3, gen: "g1"}}, takes: map[string][]shardTake{"p": {{Shard: 1, Units: 1}}}}
	none := types.CancellationReason{Code: aws.String("None")}
	failed := func(item map[string]types.AttributeValue) types.CancellationReason {
		return types.CancellationReason{Code: aws.String("ConditionalCheckFailed"), Item: item}
	}
	shard := func(price int64, currency, gen string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"productId": str("p"), "shard": num(1), "units": num(0),
			"price": num(price), "currency": str(currency), "gen": str(gen)}
	}
	throttled := types.CancellationReason{Code: aws.String("ThrottlingError")}
	var short *shardShortError
	for _, c := range []struct {
		name    string
		reasons []types.CancellationReason
		is      func(error) bool
	}{
		{"shard short", []types.CancellationReason{failed(shard(5, "USD", "g1")), none, none}, func(err error) bool { return errors.As(err, &short) && short.Shard == 1 }},
		{"shard gone (deleted or laid out again)", []types.CancellationReason{failed(nil), none, none}, func(err error) bool { return errors.Is(err, errProductChanged) }},
		{"repriced", []types.CancellationReason{failed(shard(6, "USD", "g2")), none, none}, func(err error) bool { return errors.Is(err, errProductChanged) }},
		{"laid out again, same price", []types.CancellationReason{failed(shard(5, "USD", "g2")), none, none}, func(err error) bool { return errors.Is(err, errProductChanged) }},
		{"currency changed", []types.CancellationReason{failed(shard(5, "EUR", "g1")), none, none}, func(err error) bool { return errors.Is(err, errProductChanged) }},
		{"shard throttled", []types.CancellationReason{throttled, none, none}, func(err error) bool { return errors.Is(err, errBusy) }},
		{"key taken", []types.CancellationReason{failed(nil), none, failed(nil)}, func(err error) bool { return errors.Is(err, errKeyUsed) }},
	} {
		if err := classifyTakes(o, c.reasons, errors.New("cancelled")); !c.is(err) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if err := classifyTakes(o, []types.CancellationReason{none, none}, errors.New("cancelled")); err == nil || errors.Is(err, errBusy) {
		t.Errorf("too few reasons: %v", err)
	}

	// Shards laid out before generations: short while they still have none, changed once an
	// admin write stamped them.
	legacy := o
	legacy.layouts = map[string]layout{"p": {shards: 3}}
	unstamped := map[string]types.AttributeValue{"productId": str("p"), "shard": num(1), "units": num(0)}
	if err := classifyTakes(legacy, []types.CancellationReason{failed(unstamped), none, none}, errors.New("cancelled")); !errors.As(err, &short) {
		t.Errorf("unstamped shard short: %v", err)
	}
	if err := classifyTakes(legacy, []types.CancellationReason{failed(shard(5, "USD", "g1")), none, none}, errors.New("cancelled")); !errors.Is(err, errProductChanged) {
		t.Errorf("unstamped layout stamped since: %v", err)
	}
}
