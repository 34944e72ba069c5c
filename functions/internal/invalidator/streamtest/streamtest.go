// Package streamtest holds a batch of the products table's stream as Lambda delivers it
// (KEYS_ONLY: a MODIFY of books-01 twice, an INSERT, a REMOVE of toys-03), for the tests of
// the invalidator and of the local stage.
package streamtest

import (
	_ "embed"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// KeysOnly is the batch as JSON.
//
//go:embed testdata/products-stream-keys-only.json
var KeysOnly []byte

// Event returns the batch with its product ids replaced as ids says (from -> to).
func Event(t testing.TB, ids map[string]string) events.DynamoDBEvent {
	t.Helper()
	s := string(KeysOnly)
	for from, to := range ids {
		s = strings.ReplaceAll(s, `"S": "`+from+`"`, `"S": "`+to+`"`)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}
