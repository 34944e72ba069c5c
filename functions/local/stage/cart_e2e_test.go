package stage_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/cart"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/money"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// putCartLine sets a line of the caller's cart and returns the cart answered.
func putCartLine(t *testing.T, c *stagetest.Client, productID string, quantity int) cart.Cart {
	t.Helper()
	r := c.Do(t, "PUT", "/cart/items/"+productID, map[string]int{"quantity": quantity})
	r.Expect(t, http.StatusOK, "")
	var got cart.Cart
	r.JSON(t, &got)
	return got
}

func getCart(t *testing.T, c *stagetest.Client) cart.Cart {
	t.Helper()
	r := c.Do(t, "GET", "/cart", nil)
	r.Expect(t, http.StatusOK, "")
	var got cart.Cart
	r.JSON(t, &got)
	return got
}

// storedCart returns the user's cart item as DynamoDB holds it.
func storedCart(t *testing.T, userID string) map[string]types.AttributeValue {
	t.Helper()
	return stored(t, tables.Carts, userID)
}

// cartProduct stores a new USD product for a cart test and returns it.
func cartProduct(t *testing.T, name string, price int64) catalog.Product {
	t.Helper()
	id := putStockedProduct(t, name, 10, price, "USD")
	return catalog.Product{ProductID: id, Name: "Flash " + name, Price: price, Currency: "USD"}
}

func TestCartAddChangeRemove(t *testing.T) {
	c := asUser(t, st.URL, "cart-shopper")
	empty := getCart(t, c)
	if len(empty.Items) != 0 || empty.Total != 0 || empty.Currency != nil {
		t.Fatalf("new cart %+v, want no items, total 0, no currency", empty)
	}
	r := c.Do(t, "GET", "/cart", nil)
	if !strings.Contains(string(r.Body), `"items":[]`) {
		t.Errorf("empty cart body %s, want an empty items list", r.Body)
	}

	book, toy := cartProduct(t, "cart-book", 1250), cartProduct(t, "cart-toy", 799)
	putCartLine(t, c, book.ProductID, 2)
	got := putCartLine(t, c, toy.ProductID, 1)
	want := cart.Cart{Items: []cart.Item{
		{ProductID: book.ProductID, Name: book.Name, Quantity: 2, Price: book.Price, Currency: "USD"},
		{ProductID: toy.ProductID, Name: toy.Name, Quantity: 1, Price: toy.Price, Currency: "USD"},
	}, Total: 2*book.Price + toy.Price}
	check := func(got cart.Cart, want cart.Cart) {
		t.Helper()
		if fmt.Sprint(got.Items) != fmt.Sprint(want.Items) || got.Total != want.Total ||
			(len(want.Items) > 0 && (got.Currency == nil || *got.Currency != "USD")) {
			t.Fatalf("cart %+v (currency %v), want %+v", got, got.Currency, want)
		}
	}
	check(got, want)
	check(getCart(t, c), want)

	// Changing a quantity keeps the line in its place.
	got = putCartLine(t, c, book.ProductID, 5)
	want.Items[0].Quantity, want.Total = 5, 5*book.Price+toy.Price
	check(got, want)

	// 0 removes; removing again is harmless.
	got = putCartLine(t, c, book.ProductID, 0)
	want = cart.Cart{Items: want.Items[1:], Total: toy.Price}
	check(got, want)
	check(putCartLine(t, c, book.ProductID, 0), want)

	// A cart is another user's business.
	if other := getCart(t, asUser(t, st.URL, "cart-other")); len(other.Items) != 0 {
		t.Errorf("another user sees %+v", other)
	}
}

func TestCartExpiresAfterIdleTime(t *testing.T) {
	c := asUser(t, st.URL, "cart-idle")
	before := time.Now()
	putCartLine(t, c, cartProduct(t, "cart-idle-1", 100).ProductID, 1)
	item := storedCart(t, "cart-idle")
	exp, _ := strconv.ParseInt(item["expiresAt"].(*types.AttributeValueMemberN).Value, 10, 64)
	// The cart function's own setting (the stack's shop:cartTtl).
	fn, _ := manifest.FunctionByName(manifest.Cart)
	ttl, err := time.ParseDuration(st.EnvVars(fn)[manifest.EnvCartTTL])
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Unix(exp, 0); got.Before(before.Add(ttl).Add(-time.Second)) || got.After(time.Now().Add(ttl).Add(time.Second)) {
		t.Errorf("expiresAt %v, want about now + %v", got, ttl)
	}

	// Past its expiry (DynamoDB's TTL deletes it some time later), the cart is empty to reads
	// and a write starts a new cart.
	table, _ := st.Admin.Config.Table(tables.Carts)
	_, err = st.Admin.DynamoDB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{"userId": &types.AttributeValueMemberS{Value: "cart-idle"}},
		UpdateExpression:          aws.String("SET expiresAt = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := getCart(t, c); len(got.Items) != 0 {
		t.Fatalf("expired cart read as %+v", got)
	}
	fresh := cartProduct(t, "cart-idle-2", 200).ProductID
	got := putCartLine(t, c, fresh, 3)
	if len(got.Items) != 1 || got.Items[0].ProductID != fresh {
		t.Fatalf("a write to an expired cart gave %+v, want a new cart with one line", got)
	}
}

func TestCartRefusals(t *testing.T) {
	c := asUser(t, st.URL, "cart-refused")
	known := cartProduct(t, "cart-refused", 100).ProductID
	for _, tc := range []struct {
		name   string
		c      *stagetest.Client
		path   string
		body   any
		status int
		code   string
	}{
		{"no token", stagetest.NewClient(st.URL, ""), "/cart/items/" + known, `{"quantity":1}`, 401, "unauthorized"},
		{"unknown product", c, "/cart/items/no-such-product", `{"quantity":1}`, 404, "not_found"},
		{"unknown product removed", c, "/cart/items/no-such-product", `{"quantity":0}`, 404, "not_found"},
		{"quantity 101", c, "/cart/items/" + known, `{"quantity":101}`, 400, "invalid_request"},
		{"negative quantity", c, "/cart/items/" + known, `{"quantity":-1}`, 400, "invalid_request"},
		{"fractional quantity", c, "/cart/items/" + known, `{"quantity":1.5}`, 400, "invalid_request"},
		{"no quantity", c, "/cart/items/" + known, `{}`, 400, "invalid_request"},
		{"unknown field", c, "/cart/items/" + known, `{"quantity":1,"note":"x"}`, 400, "invalid_request"},
		{"bad product id", c, "/cart/items/a.b", `{"quantity":1}`, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Do(t, "PUT", tc.path, tc.body).Expect(t, tc.status, tc.code)
		})
	}
	stagetest.NewClient(st.URL, "").Do(t, "GET", "/cart", nil).Expect(t, 401, "unauthorized")
	if got := getCart(t, c); len(got.Items) != 0 {
		t.Errorf("refused requests changed the cart: %+v", got)
	}

	// One currency per cart.
	putCartLine(t, c, known, 1)
	eur := putStockedProduct(t, "cart-eur", 5, 1000, "EUR")
	c.Do(t, "PUT", "/cart/items/"+eur, `{"quantity":1}`).Expect(t, http.StatusConflict, "conflict")
}

// A cart holds at most 50 products, like an order.
func TestCartHoldsAtMostFiftyProducts(t *testing.T) {
	c := asUser(t, st.URL, "cart-full")
	var ids []string
	for i := range cart.MaxLines + 1 {
		ids = append(ids, cartProduct(t, fmt.Sprintf("cart-full-%02d", i), 100).ProductID)
	}
	for _, id := range ids[:cart.MaxLines] {
		putCartLine(t, c, id, 1)
	}
	c.Do(t, "PUT", "/cart/items/"+ids[cart.MaxLines], `{"quantity":1}`).Expect(t, http.StatusUnprocessableEntity, "unprocessable")
	// Lines already in it still change.
	got := putCartLine(t, c, ids[0], 7)
	if len(got.Items) != cart.MaxLines || got.Items[0].Quantity != 7 {
		t.Errorf("full cart after a change: %d lines, first %+v", len(got.Items), got.Items[0])
	}
}

// A product deleted from the catalog drops out of the cart's answer and can still be removed.
func TestCartOfADeletedProduct(t *testing.T) {
	c := asUser(t, st.URL, "cart-deleted")
	gone := putStockedProduct(t, "cart-gone", 5, 100, "USD")
	kept := cartProduct(t, "cart-kept", 450).ProductID
	putCartLine(t, c, kept, 1)
	putCartLine(t, c, gone, 2)
	table, _ := st.Admin.Config.Table(tables.Products)
	_, err := st.Admin.DynamoDB.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: gone}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := getCart(t, c)
	if len(got.Items) != 1 || got.Items[0].ProductID != kept || got.Total != 450 {
		t.Fatalf("cart %+v, want only %s", got, kept)
	}
	putCartLine(t, c, gone, 0)
	c.Do(t, "PUT", "/cart/items/"+gone, `{"quantity":0}`).Expect(t, http.StatusNotFound, "not_found")
	if _, ok := storedCart(t, "cart-deleted")["quantities"].(*types.AttributeValueMemberM).Value[gone]; ok {
		t.Error("the deleted product's line is still stored")
	}
}

// Concurrent first lines of two currencies: one of them is put in the cart, the other is
// refused with 409, whether the user has no cart yet or an emptied one.
func TestCartHoldsOneCurrencyUnderConcurrency(t *testing.T) {
	eur := putStockedProduct(t, "cart-race-eur", 5, 1000, "EUR")
	usd := putStockedProduct(t, "cart-race-usd", 5, 1000, "USD")
	for _, emptied := range []bool{false, true} {
		t.Run(fmt.Sprintf("emptied=%v", emptied), func(t *testing.T) {
			for try := range 20 {
				user := fmt.Sprintf("cart-race-%v-%d-%d", emptied, try, time.Now().UnixNano())
				c := asUser(t, st.URL, user)
				if emptied {
					putCartLine(t, c, usd, 1)
					putCartLine(t, c, usd, 0)
				}
				var wg sync.WaitGroup
				start := make(chan struct{})
				answers := make([]*stagetest.Response, 2)
				for i, id := range []string{eur, usd} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						answers[i] = c.Do(t, "PUT", "/cart/items/"+id, `{"quantity":1}`)
					}()
				}
				close(start)
				wg.Wait()
				ok, refused := 0, 0
				for _, r := range answers {
					switch {
					case r.Status == http.StatusOK:
						ok++
					case r.Status == http.StatusConflict && r.ErrorCode() == "conflict":
						refused++
					default:
						t.Fatalf("try %d: answer %d %s", try, r.Status, r.Body)
					}
				}
				got := getCart(t, c)
				if ok != 1 || refused != 1 || len(got.Items) != 1 {
					t.Fatalf("try %d: %d answered 200 and %d 409; the cart holds %+v; want one line of one currency",
						try, ok, refused, got.Items)
				}
			}
		})
	}
}

// A cart line or total above 2^53-1 is refused with 422 and not stored.
func TestCartRefusesAmountsAboveTheLargest(t *testing.T) {
	c := asUser(t, st.URL, "cart-huge")
	dear := putStockedProduct(t, "cart-dear", 5, money.MaxAmount, "USD")
	cheap := putStockedProduct(t, "cart-cheap", 5, 1, "USD")

	got := putCartLine(t, c, dear, 1)
	if got.Total != money.MaxAmount {
		t.Fatalf("total %d, want %d", got.Total, int64(money.MaxAmount))
	}
	c.Do(t, "PUT", "/cart/items/"+dear, `{"quantity":2}`).Expect(t, http.StatusUnprocessableEntity, "unprocessable")
	c.Do(t, "PUT", "/cart/items/"+dear, `{"quantity":100}`).Expect(t, http.StatusUnprocessableEntity, "unprocessable")
	c.Do(t, "PUT", "/cart/items/"+cheap, `{"quantity":1}`).Expect(t, http.StatusUnprocessableEntity, "unprocessable")
	stored := storedCart(t, "cart-huge")["quantities"].(*types.AttributeValueMemberM).Value
	if len(stored) != 1 || stored[dear].(*types.AttributeValueMemberN).Value != "1" {
		t.Fatalf("refused lines were stored: %v", stored)
	}
	if got := getCart(t, c); got.Total != money.MaxAmount || len(got.Items) != 1 {
		t.Fatalf("cart after the refusals %+v", got)
	}

	// A price raised past what the cart's quantity allows: the cart is 422 (never a wrapped
	// or inexact total) until the quantity is lowered.
	rising := putStockedProduct(t, "cart-rising", 5, 2, "USD")
	r := asUser(t, st.URL, "cart-rising")
	putCartLine(t, r, rising, 100)
	setNumber(t, rising, "price", money.MaxAmount)
	r.Do(t, "GET", "/cart", nil).Expect(t, http.StatusUnprocessableEntity, "unprocessable")
	if got := putCartLine(t, r, rising, 1); got.Total != money.MaxAmount {
		t.Fatalf("cart after lowering the quantity %+v", got)
	}
}
