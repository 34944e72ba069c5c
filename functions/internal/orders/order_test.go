package orders

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/api"
)

func TestValidate(t *testing.T) {
	many := func(n int) []Line {
		var ls []Line
		for i := range n {
			ls = append(ls, Line{fmt.Sprintf("p-%d", i), 1})
		}
		return ls
	}
	for _, tc := range []struct {
		name  string
		lines []Line
		ok    bool
	}{
		{"one line", []Line{{"a", 1}}, true},
		{"fifty lines", many(50), true},
		{"max quantity", []Line{{"a", 100}}, true},
		{"no lines", nil, false},
		{"51 lines", many(51), false},
		{"quantity 0", []Line{{"a", 0}}, false},
		{"quantity 101", []Line{{"a", 101}}, false},
		{"negative quantity", []Line{{"a", -1}}, false},
		{"duplicate product", []Line{{"a", 1}, {"b", 1}, {"a", 2}}, false},
		{"empty product id", []Line{{"", 1}}, false},
		{"bad product id", []Line{{"a/b", 1}}, false},
		{"long product id", []Line{{strings.Repeat("a", 65), 1}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Request{Items: tc.lines}.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
			var e *api.Error
			if err != nil && (!errors.As(err, &e) || e.Status != 400) {
				t.Errorf("%v, want a 400", err)
			}
		})
	}
}

func TestHashIsTheRequestsMeaning(t *testing.T) {
	a := Request{Items: []Line{{"x", 1}, {"y", 2}}}
	if a.Hash() != (Request{Items: []Line{{"y", 2}, {"x", 1}}}).Hash() {
		t.Error("the same lines in another order hash differently")
	}
	for _, other := range []Request{
		{Items: []Line{{"x", 1}, {"y", 3}}},
		{Items: []Line{{"x", 1}}},
		{Items: []Line{{"x", 1}, {"z", 2}}},
	} {
		if a.Hash() == other.Hash() {
			t.Errorf("%v and %v hash alike", a, other)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"":                       false,
		"a":                      true,
		"Order_2026-01-01":       true,
		strings.Repeat("k", 128): true,
		strings.Repeat("k", 129): false,
		"has space":              false,
		"dots.are.bad":           false,
		"ümlaut":                 false,
	} {
		req := api.Request{Headers: map[string]string{}}
		if key != "" {
			req.Headers["idempotency-key"] = key
		}
		got, err := IdempotencyKey(req)
		if ok != (err == nil) || (ok && got != key) {
			t.Errorf("key %q: %q %v, want ok=%v", key, got, err, ok)
		}
	}
}

func TestClassifyCancellationReasons(t *testing.T) {
	o := Order{Items: []Item{{ProductID: "a", Quantity: 2, Price: 5, Currency: "USD"}, {ProductID: "b", Quantity: 1, Price: 7, Currency: "USD"}}}
	r := func(code string, item map[string]types.AttributeValue) types.CancellationReason {
		return types.CancellationReason{Code: aws.String(code), Item: item}
	}
	product := func(stock, price int64) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"productId": str("b"), "stock": num(stock), "price": num(price), "currency": str("USD")}
	}
	none := r("None", nil)
	cause := errors.New("cancelled")
	for _, tc := range []struct {
		name    string
		reasons []types.CancellationReason
		check   func(error) bool
	}{
		{"key used wins", []types.CancellationReason{none, r("ConditionalCheckFailed", product(0, 7)), none, r("ConditionalCheckFailed", nil)},
			func(err error) bool { return errors.Is(err, errKeyUsed) }},
		{"short", []types.CancellationReason{none, r("ConditionalCheckFailed", product(0, 7)), none, none},
			func(err error) bool {
				var s *shortError
				return errors.As(err, &s) && s.ProductID == "b" && s.Stock == 0
			}},
		{"gone", []types.CancellationReason{none, r("ConditionalCheckFailed", nil), none, none},
			func(err error) bool { var g *goneError; return errors.As(err, &g) && g.ProductID == "b" }},
		{"price changed", []types.CancellationReason{none, r("ConditionalCheckFailed", product(9, 8)), none, none},
			func(err error) bool { return errors.Is(err, errProductChanged) }},
		{"conflict", []types.CancellationReason{r("TransactionConflict", nil), none, none, none},
			func(err error) bool { return errors.Is(err, errBusy) }},
		{"conflict on the key", []types.CancellationReason{none, none, none, r("TransactionConflict", nil)},
			func(err error) bool { return errors.Is(err, errBusy) }},
		{"short beats conflict", []types.CancellationReason{r("TransactionConflict", nil), r("ConditionalCheckFailed", product(0, 7)), none, none},
			func(err error) bool { var s *shortError; return errors.As(err, &s) }},
		{"order id taken", []types.CancellationReason{none, none, r("ConditionalCheckFailed", nil), none},
			func(err error) bool { return errors.Is(err, errOrderIDTaken) }},
		{"validation", []types.CancellationReason{r("ValidationError", nil), none, none, none},
			func(err error) bool { return errors.Is(err, cause) }},
		{"wrong count", []types.CancellationReason{none},
			func(err error) bool { return errors.Is(err, cause) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := classify(o, tc.reasons, cause); !tc.check(err) {
				t.Errorf("classify: %v", err)
			}
		})
	}
}
