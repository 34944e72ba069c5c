package reviews

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

type queryRecorder struct {
	DB
	in *dynamodb.QueryInput
}

func (q *queryRecorder) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	q.in = in
	return &dynamodb.QueryOutput{}, nil
}

// A page is read newest first and strongly consistent: the first page is cached right after
// a new review evicted it, and must include that review.
func TestListQuery(t *testing.T) {
	db := &queryRecorder{}
	page, err := NewStore(db, "reviews").List(context.Background(), "p1", 20, nil)
	if err != nil || page.Items == nil || page.NextCursor != nil {
		t.Fatalf("page %+v, %v", page, err)
	}
	if db.in.ConsistentRead == nil || !*db.in.ConsistentRead || db.in.ScanIndexForward == nil || *db.in.ScanIndexForward ||
		*db.in.Limit != 21 {
		t.Errorf("query %+v", db.in)
	}
}
