package access_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/shop-serverless/shop/functions/local/access"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// answering is a server stand-in that answers every request with an empty success.
type answering struct{}

func (answering) Do(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

func clients(g *access.Guard, fn manifest.Function) (*dynamodb.Client, *s3.Client) {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.HTTPClient = g.DynamoDB(fn, answering{})
	})
	objects := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.UsePathStyle = true
		o.HTTPClient = g.S3(fn, answering{})
	})
	return db, objects
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// A request the function's grants allow reaches the server; one they do not is answered
// AccessDenied, as IAM would, and is reported; grants no request used are reported too.
func TestGuard(t *testing.T) {
	ctx := context.Background()
	fn := manifest.Function{Name: "orders", Tables: []manifest.TableGrant{
		{Table: tables.Products, Actions: []manifest.Action{manifest.BatchGetItem}},
		{Table: tables.Products, Actions: []manifest.Action{manifest.UpdateItem}, Attributes: []string{"productId", "stock", "price", "currency"}},
		{Table: tables.Orders, Actions: []manifest.Action{manifest.GetItem, manifest.PutItem}},
		{Table: tables.Orders, Index: tables.OrdersByUser, Actions: []manifest.Action{manifest.Query}},
	}, Bucket: []manifest.ObjectGrant{{Prefix: "products/", Actions: []manifest.Action{manifest.PutObject}}}}
	g := access.NewGuard("shop-local-", "images")
	db, objects := clients(g, fn)

	stock := types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String("shop-local-products"), Key: map[string]types.AttributeValue{"productId": str("p1")},
		UpdateExpression:          aws.String("SET #s = #s - :q"),
		ConditionExpression:       aws.String("attribute_exists(#id) AND #s >= :q AND #p = :p AND #c = :c"),
		ExpressionAttributeNames:  map[string]string{"#id": "productId", "#s": "stock", "#p": "price", "#c": "currency"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":q": &types.AttributeValueMemberN{Value: "1"}, ":p": &types.AttributeValueMemberN{Value: "1"}, ":c": str("EUR")},
	}}
	order := types.TransactWriteItem{Put: &types.Put{TableName: aws.String("shop-local-orders"), Item: map[string]types.AttributeValue{"orderId": str("o1")}}}
	allowed := []struct {
		name string
		call func() error
	}{
		{"checkout's transaction", func() error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{stock, order}})
			return err
		}},
		{"a user's orders", func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("shop-local-orders"), IndexName: aws.String(tables.OrdersByUser),
				KeyConditionExpression: aws.String("userId = :u"), ExpressionAttributeValues: map[string]types.AttributeValue{":u": str("u")}})
			return err
		}},
		{"an image", func() error {
			_, err := objects.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("products/p1/a.png"), Body: strings.NewReader("x")})
			return err
		}},
	}
	for _, c := range allowed {
		if err := c.call(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	renamed := stock
	renamed.Update = &types.Update{TableName: stock.Update.TableName, Key: stock.Update.Key,
		UpdateExpression: aws.String("SET #n = :n"), ExpressionAttributeNames: map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": str("x")}}
	refused := []struct {
		name string
		call func() error
	}{
		{"a scan of orders", func() error {
			_, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("shop-local-orders")})
			return err
		}},
		{"a product put", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("shop-local-products"), Item: map[string]types.AttributeValue{"productId": str("p")}})
			return err
		}},
		{"a product's name in a transaction", func() error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{renamed, order}})
			return err
		}},
		{"the stock update answering the whole item", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: stock.Update.TableName, Key: stock.Update.Key,
				UpdateExpression: stock.Update.UpdateExpression, ExpressionAttributeNames: map[string]string{"#s": "stock"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":q": &types.AttributeValueMemberN{Value: "1"}},
				ReturnValues:              types.ReturnValueAllNew})
			return err
		}},
		{"an object outside products/", func() error {
			_, err := objects.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("other/a.png"), Body: strings.NewReader("x")})
			return err
		}},
		{"an image read", func() error {
			_, err := objects.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String("products/p1/a.png")})
			return err
		}},
	}
	for _, c := range refused {
		if err := c.call(); errorCode(err) != "AccessDenied" && errorCode(err) != "AccessDeniedException" {
			t.Errorf("%s: %v, want AccessDenied", c.name, err)
		}
	}
	if d := g.Denied(); len(d) != len(refused) {
		t.Errorf("denied %d requests, want %d: %q", len(d), len(refused), d)
	}
	want := []string{"orders: dynamodb:BatchGetItem on table products", "orders: dynamodb:GetItem on table orders"}
	if got := g.Unused([]manifest.Function{fn}); !slices.Equal(got, want) {
		t.Errorf("unused %q, want %q", got, want)
	}
}

// Expressions name attributes through placeholders or directly; only top-level names count.
func TestDynamoDBUsesAttributes(t *testing.T) {
	body := `{"TableName":"t-carts","Key":{"userId":{"S":"u"}},
		"UpdateExpression":"SET #items.#pid = :line, expiresAt = :e REMOVE legacy",
		"ConditionExpression":"attribute_not_exists(#items.#pid) OR size(#items) < :max",
		"ExpressionAttributeNames":{"#items":"items","#pid":"books-01"}}`
	uses, err := access.DynamoDBUses("UpdateItem", []byte(body), func(s string) string { return strings.TrimPrefix(s, "t-") })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"userId", "items", "expiresAt", "legacy"}
	if len(uses) != 1 || uses[0].Table != "carts" || uses[0].Action != manifest.UpdateItem || !slices.Equal(uses[0].Attributes, want) {
		t.Errorf("uses %+v, want UpdateItem on carts naming %v", uses, want)
	}
}
