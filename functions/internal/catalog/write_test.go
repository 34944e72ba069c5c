package catalog

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestDraftProblems(t *testing.T) {
	ok := Draft{Name: "Lamp", Category: "home-2", Price: 0, Currency: "EUR", Stock: 0}
	if p := ok.Problems(); len(p) != 0 {
		t.Fatalf("valid draft refused: %v", p)
	}
	for name, change := range map[string]func(*Draft){
		"name empty":        func(d *Draft) { d.Name = "" },
		"name of 201":       func(d *Draft) { d.Name = strings.Repeat("é", 201) },
		"description 5001":  func(d *Draft) { d.Description = strings.Repeat("x", 5001) },
		"category":          func(d *Draft) { d.Category = "Home" },
		"negative price":    func(d *Draft) { d.Price = -1 },
		"price over 2^53-1": func(d *Draft) { d.Price = MaxAmount + 1 },
		"negative stock":    func(d *Draft) { d.Stock = -1 },
		"currency case":     func(d *Draft) { d.Currency = "eur" },
		"currency unknown":  func(d *Draft) { d.Currency = "ABC" },
		"currency none":     func(d *Draft) { d.Currency = "XXX" },
	} {
		d := ok
		change(&d)
		if p := d.Problems(); len(p) != 1 {
			t.Errorf("%s: problems %v, want exactly one", name, p)
		}
	}
}

func TestValidCurrency(t *testing.T) {
	for _, c := range []string{"USD", "EUR", "JPY", "GBP", "CHF", "INR", "BRL"} {
		if !ValidCurrency(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"", "usd", "Usd", "US", "USDD", "ABC", "XXX", "DEM", "U$D"} {
		if ValidCurrency(c) {
			t.Errorf("%q accepted", c)
		}
	}
}

func TestValidCategory(t *testing.T) {
	for c, ok := range map[string]bool{
		"kitchen": true, "home-office": true, "a": true, "2026": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "Kitchen": false, "home_office": false,
		"home office": false, "café": false, "a/b": false,
	} {
		if ValidCategory(c) != ok {
			t.Errorf("ValidCategory(%q) = %v", c, !ok)
		}
	}
}

// recordingDB records the requests of the store; only the methods a test calls are set.
type recordingDB struct {
	DB
	get     *dynamodb.GetItemInput
	updates []*dynamodb.UpdateItemInput
}

func (r *recordingDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.get = in
	return &dynamodb.GetItemOutput{Item: in.Key}, nil
}

func (r *recordingDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.updates = append(r.updates, in)
	return &dynamodb.UpdateItemOutput{}, nil
}

// The read that fills the cache must see the latest write, and PUT must be a conditional
// UpdateItem of its own fields, never a PutItem of the whole item, under the product's lock:
// the first update takes it if the product exists, the last writes the fields if it still
// holds it.
func TestStoreRequests(t *testing.T) {
	db := &recordingDB{}
	s := NewStore(db, "products")
	_, _ = s.Get(context.Background(), "p1")
	if db.get == nil || db.get.ConsistentRead == nil || !*db.get.ConsistentRead {
		t.Error("Get is not a strongly consistent read")
	}
	_, _ = s.Update(context.Background(), "p1", Draft{Name: "n", Category: "c", Currency: "USD"}, "2026-01-01T00:00:00Z")
	if len(db.updates) != 2 {
		t.Fatalf("%d updates, want the lock's and the fields'", len(db.updates))
	}
	if c := aws.ToString(db.updates[0].ConditionExpression); !strings.HasPrefix(c, "attribute_exists(productId) AND ") {
		t.Errorf("lock taken on condition %q", c)
	}
	u := db.updates[1]
	if aws.ToString(u.ConditionExpression) != "#lock = :lock" || !reflect.DeepEqual(u.ExpressionAttributeValues[":lock"], db.updates[0].ExpressionAttributeValues[":lock"]) ||
		!strings.Contains(aws.ToString(u.UpdateExpression), "REMOVE #lock, #until") ||
		strings.Contains(aws.ToString(u.UpdateExpression), "imageUrl") || strings.Contains(aws.ToString(u.UpdateExpression), "createdAt") {
		t.Errorf("update %+v", u)
	}
}
