package dynproxy

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// request is what the proxy needs to know of one DynamoDB request.
type request struct {
	op             string
	write          bool
	transactional  bool
	consistent     bool
	returnCapacity string
	// limited is false for scans and batches, which are metered but never throttled.
	limited bool
	// tables are the deployed tables it touches, each once.
	tables []string
	// items are the keys it touches, in the request's order (a transaction's items).
	items []item
	// reserved are the units admit took from each item's bucket; nil when it took none.
	reserved []float64
	// units are what each item of a transactional write costs, as the proxy computed them.
	units []float64
}

// item is one key a request touches.
type item struct {
	table, index string
	// key identifies the item (or a query's partition) within the proxy.
	key string
}

// minUnits is the least one item of the request costs: what a refused write still
// consumes, and the estimate for a key not seen before.
func (r *request) minUnits() float64 {
	switch {
	case r.transactional:
		return 2
	case r.write || r.consistent:
		return 1
	default:
		return 0.5
	}
}

var writeOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true,
	"BatchWriteItem": true, "TransactWriteItems": true}

// body is the fields of the data-plane requests the proxy reads.
type body struct {
	TableName                 string
	IndexName                 string
	Key                       map[string]json.RawMessage
	Item                      map[string]json.RawMessage
	ConsistentRead            bool
	KeyConditionExpression    string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]json.RawMessage
	ReturnConsumedCapacity    string
	RequestItems              map[string]json.RawMessage
	TransactItems             []map[string]body
}

// parseRequest reads what op with body touches; tables without a schema are ignored.
func parseRequest(op string, raw []byte, schemas map[string]KeySchema) (*request, error) {
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	r := &request{op: op, write: writeOps[op], consistent: b.ConsistentRead, returnCapacity: b.ReturnConsumedCapacity, limited: true}
	add := func(table, index, key string) {
		if _, ok := schemas[table]; !ok {
			return
		}
		if !slices.Contains(r.tables, table) {
			r.tables = append(r.tables, table)
		}
		r.items = append(r.items, item{table: table, index: index, key: key})
	}
	switch op {
	case "GetItem", "DeleteItem", "UpdateItem":
		add(b.TableName, "", itemKey(b.TableName, schemas[b.TableName], b.Key))
	case "PutItem":
		add(b.TableName, "", itemKey(b.TableName, schemas[b.TableName], b.Item))
	case "Query":
		add(b.TableName, b.IndexName, partitionKey(b, schemas[b.TableName]))
	case "Scan":
		r.limited = false
		add(b.TableName, b.IndexName, b.TableName)
	case "BatchGetItem", "BatchWriteItem":
		r.limited = false
		for _, table := range sortedKeys(b.RequestItems) {
			for _, k := range batchKeys(op, b.RequestItems[table]) {
				add(table, "", itemKey(table, schemas[table], k))
			}
		}
	case "TransactWriteItems", "TransactGetItems":
		r.transactional = true
		for _, ti := range b.TransactItems {
			for _, part := range ti {
				k := part.Key
				if part.Item != nil {
					k = part.Item
				}
				add(part.TableName, "", itemKey(part.TableName, schemas[part.TableName], k))
			}
		}
	}
	return r, nil
}

// batchKeys lists the keys (or items) of one table's part of a batch.
func batchKeys(op string, raw json.RawMessage) []map[string]json.RawMessage {
	if op == "BatchGetItem" {
		var ka struct{ Keys []map[string]json.RawMessage }
		_ = json.Unmarshal(raw, &ka)
		return ka.Keys
	}
	var writes []struct {
		PutRequest    *struct{ Item map[string]json.RawMessage }
		DeleteRequest *struct{ Key map[string]json.RawMessage }
	}
	_ = json.Unmarshal(raw, &writes)
	var out []map[string]json.RawMessage
	for _, w := range writes {
		switch {
		case w.PutRequest != nil:
			out = append(out, w.PutRequest.Item)
		case w.DeleteRequest != nil:
			out = append(out, w.DeleteRequest.Key)
		}
	}
	return out
}

// itemKey names an item by its table and key attributes' values.
func itemKey(table string, s KeySchema, attrs map[string]json.RawMessage) string {
	k := table + "|" + compact(attrs[s.Hash])
	if s.Range != "" {
		k += "|" + compact(attrs[s.Range])
	}
	return k
}

// equality is one "name = :value" term of a key condition.
var equality = regexp.MustCompile(`(#?[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)`)

// partitionKey names the partition a query reads: its table or index and the value its key
// condition gives the partition key.
func partitionKey(b body, s KeySchema) string {
	hash := s.Hash
	if b.IndexName != "" {
		hash = s.Indexes[b.IndexName].Hash
	}
	for _, m := range equality.FindAllStringSubmatch(b.KeyConditionExpression, -1) {
		name := m[1]
		if strings.HasPrefix(name, "#") {
			name = b.ExpressionAttributeNames[name]
		}
		if name == hash {
			return b.TableName + "/" + b.IndexName + "|" + compact(b.ExpressionAttributeValues[m[2]])
		}
	}
	return b.TableName + "/" + b.IndexName
}

func compact(v json.RawMessage) string {
	var out bytes.Buffer
	if err := json.Compact(&out, v); err != nil {
		return string(v)
	}
	return out.String()
}
