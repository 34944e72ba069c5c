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
	// estimates are what each item will cost by the billing rule, computed from the sizes of
	// the items stored and put before the request is forwarded (sizes.go); nil when the
	// request is neither limited nor a transactional write.
	estimates []float64
	// reserved are the units admit took from each item's bucket; nil when it took none.
	reserved []float64
	// units are what each item of a transactional write costs, as the proxy computed them:
	// its estimates, which DynamoDB Local's figures cannot replace.
	units []float64
}

// item is one key a request touches.
type item struct {
	table, index string
	// key identifies the item (or a query's partition) within the proxy.
	key string
	// keyAttrs are the item's key attributes; nil for a query's partition or a scan.
	keyAttrs map[string]json.RawMessage
	// put is the item a put writes; nil for other writes and reads.
	put map[string]json.RawMessage
	// fresh: the write is conditioned on the item not existing, so it either writes a new
	// item or fails; the item stored before need not be sized.
	fresh bool
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
	ConditionExpression       string
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
	add := func(it item, attrs map[string]json.RawMessage) {
		s, ok := schemas[it.table]
		if !ok {
			return
		}
		if !slices.Contains(r.tables, it.table) {
			r.tables = append(r.tables, it.table)
		}
		if attrs != nil {
			it.key, it.keyAttrs = itemKey(it.table, s, attrs), map[string]json.RawMessage{s.Hash: attrs[s.Hash]}
			if s.Range != "" {
				it.keyAttrs[s.Range] = attrs[s.Range]
			}
		}
		r.items = append(r.items, it)
	}
	switch op {
	case "GetItem", "DeleteItem", "UpdateItem":
		add(item{table: b.TableName}, b.Key)
	case "PutItem":
		add(item{table: b.TableName, put: b.Item, fresh: onlyIfNew(b.ConditionExpression)}, b.Item)
	case "Query":
		add(item{table: b.TableName, index: b.IndexName, key: partitionKey(b, schemas[b.TableName])}, nil)
	case "Scan":
		r.limited = false
		add(item{table: b.TableName, index: b.IndexName, key: b.TableName}, nil)
	case "BatchGetItem", "BatchWriteItem":
		r.limited = false
		for _, table := range sortedKeys(b.RequestItems) {
			for _, k := range batchKeys(op, b.RequestItems[table]) {
				add(item{table: table}, k)
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
				add(item{table: part.TableName, put: part.Item, fresh: part.Item != nil && onlyIfNew(part.ConditionExpression)}, k)
			}
		}
	}
	return r, nil
}

// notExists is a condition that the item does not exist: one of its attributes (its key, as
// callers write it) is absent.
var notExists = regexp.MustCompile(`^\s*attribute_not_exists\s*\(\s*#?[A-Za-z0-9_]+\s*\)\s*$`)

// onlyIfNew reports whether a put's condition lets it write only an item that does not exist.
func onlyIfNew(condition string) bool { return notExists.MatchString(condition) }

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
