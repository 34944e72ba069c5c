package orders

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A sharded line's cancellation reasons come as its shards', then its product check's; the
// product check's answer wins over a short shard, and a taken key over everything.
func TestClassifyTakesReadsTheProductCheck(t *testing.T) {
	o := Order{Items: []Item{{ProductID: "p", Quantity: 1, Price: 5, Currency: "USD"}},
		shards: map[string]int{"p": 3}, takes: map[string][]shardTake{"p": {{Shard: 1, Units: 1}}}}
	none := types.CancellationReason{Code: aws.String("None")}
	failed := func(item map[string]types.AttributeValue) types.CancellationReason {
		return types.CancellationReason{Code: aws.String("ConditionalCheckFailed"), Item: item}
	}
	product := map[string]types.AttributeValue{"productId": str("p"), "price": num(6), "currency": str("USD"), "stockShards": num(3)}
	shard := map[string]types.AttributeValue{"units": num(0)}
	throttled := types.CancellationReason{Code: aws.String("ThrottlingError")}
	var gone *goneError
	var short *shardShortError
	for _, c := range []struct {
		name    string
		reasons []types.CancellationReason
		is      func(error) bool
	}{
		{"product deleted", []types.CancellationReason{none, failed(nil), none, none}, func(err error) bool { return errors.As(err, &gone) }},
		{"product deleted, shard gone too", []types.CancellationReason{failed(nil), failed(nil), none, none}, func(err error) bool { return errors.As(err, &gone) }},
		{"product repriced, shard short", []types.CancellationReason{failed(shard), failed(product), none, none}, func(err error) bool { return errors.Is(err, errProductChanged) }},
		{"shard short", []types.CancellationReason{failed(shard), none, none, none}, func(err error) bool { return errors.As(err, &short) && short.Shard == 1 }},
		{"product check throttled", []types.CancellationReason{none, throttled, none, none}, func(err error) bool { return errors.Is(err, errBusy) }},
		{"key taken", []types.CancellationReason{none, failed(nil), none, failed(nil)}, func(err error) bool { return errors.Is(err, errKeyUsed) }},
	} {
		if err := classifyTakes(o, c.reasons, errors.New("cancelled")); !c.is(err) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if err := classifyTakes(o, []types.CancellationReason{none, none, none}, errors.New("cancelled")); err == nil || errors.Is(err, errBusy) {
		t.Errorf("too few reasons: %v", err)
	}
}
