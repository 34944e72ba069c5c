// Package access is the local stage's IAM: it works out which action on which resource each
// AWS request of a function needs, refuses those the function's entry in functions/manifest
// does not grant (AccessDenied, as IAM would in the cloud), and records which grants the
// requests used, so the end-to-end tests can name grants no code path exercises. It also
// records the cache commands a function's Redis ACL user was refused.
package access

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/manifest"
)

// Use is what one request needs: an action on a table (or index) or on an object of the
// images bucket.
type Use struct {
	Action manifest.Action
	// Table is the logical table name (tables.Table.Name), Index one of its indexes.
	Table, Index string
	// Bucket and Key name an object; Key is empty for bucket-level actions.
	Bucket, Key string
	// Attributes are the top-level attributes an item request names (its key, item,
	// expressions), for grants limited by dynamodb:Attributes; ReturnValues is its
	// ReturnValues.
	Attributes   []string
	ReturnValues string
}

func (u Use) String() string {
	switch {
	case u.Table != "" && u.Index != "":
		return fmt.Sprintf("%s on table %s index %s", u.Action, u.Table, u.Index)
	case u.Table != "":
		return fmt.Sprintf("%s on table %s (attributes %v)", u.Action, u.Table, u.Attributes)
	default:
		return fmt.Sprintf("%s on s3://%s/%s", u.Action, u.Bucket, u.Key)
	}
}

// grant identifies one action of one grant of a function: its kind, position and action.
type grant struct {
	kind   string // "table" or "bucket"
	index  int
	action manifest.Action
}

// match returns the grant of fn that allows u; ok is false when none does.
func match(fn manifest.Function, bucket string, u Use) (g grant, ok bool) {
	for i, tg := range fn.Tables {
		if u.Table == "" || tg.Table.Name != u.Table || tg.Index != u.Index || !slices.Contains(tg.Actions, u.Action) {
			continue
		}
		if len(tg.Attributes) > 0 && (!subset(u.Attributes, tg.Attributes) || strings.HasPrefix(u.ReturnValues, "ALL_")) {
			continue
		}
		return grant{"table", i, u.Action}, true
	}
	for i, og := range fn.Bucket {
		if u.Bucket == bucket && u.Key != "" && strings.HasPrefix(u.Key, og.Prefix) && slices.Contains(og.Actions, u.Action) {
			return grant{"bucket", i, u.Action}, true
		}
	}
	return grant{}, false
}

func subset(sub, set []string) bool {
	for _, s := range sub {
		if !slices.Contains(set, s) {
			return false
		}
	}
	return true
}

// HTTPClient is the SDK clients' HTTP client.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// Guard checks and records the requests of the functions whose clients it wraps.
type Guard struct {
	tablePrefix string
	bucket      string

	mu     sync.Mutex
	used   map[string]map[grant]bool // by function name
	denied []string
}

// NewGuard returns a guard for a stage whose tables are named tablePrefix + logical name and
// whose images bucket is bucket.
func NewGuard(tablePrefix, bucket string) *Guard {
	return &Guard{tablePrefix: tablePrefix, bucket: bucket, used: map[string]map[grant]bool{}}
}

// DynamoDB wraps the HTTP client of fn's DynamoDB client.
func (g *Guard) DynamoDB(fn manifest.Function, next HTTPClient) HTTPClient {
	return clientFunc(func(req *http.Request) (*http.Response, error) {
		body, err := readBody(req)
		if err != nil {
			return nil, err
		}
		op := req.Header.Get("X-Amz-Target")
		_, op, _ = strings.Cut(op, ".")
		uses, err := DynamoDBUses(op, body, g.logicalTable)
		if err != nil {
			return nil, fmt.Errorf("access: %s: %w", op, err)
		}
		if u, ok := g.check(fn, uses); !ok {
			return denied(req, http.StatusBadRequest, "application/x-amz-json-1.0",
				fmt.Sprintf(`{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"the %s function is not authorized to perform %s"}`, fn.Name, u)), nil
		}
		return next.Do(req)
	})
}

// S3 wraps the HTTP client of fn's S3 client (path-style addressing).
func (g *Guard) S3(fn manifest.Function, next HTTPClient) HTTPClient {
	return clientFunc(func(req *http.Request) (*http.Response, error) {
		if u, ok := g.check(fn, []Use{S3Use(req)}); !ok {
			return denied(req, http.StatusForbidden, "application/xml",
				fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>the %s function is not authorized to perform %s</Message></Error>`, fn.Name, u)), nil
		}
		return next.Do(req)
	})
}

// Presigned checks and records u, a request a browser sent with a URL or POST policy fn
// presigned: S3 authorizes it as fn's own request, so fn's grants must allow it.
func (g *Guard) Presigned(fn manifest.Function, u Use) bool {
	_, ok := g.check(fn, []Use{u})
	return ok
}

// check records the uses of one request and returns the first one fn is not granted.
func (g *Guard) check(fn manifest.Function, uses []Use) (Use, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, u := range uses {
		gr, ok := match(fn, g.bucket, u)
		if !ok {
			g.denied = append(g.denied, fn.Name+": "+u.String())
			return u, false
		}
		if g.used[fn.Name] == nil {
			g.used[fn.Name] = map[grant]bool{}
		}
		g.used[fn.Name][gr] = true
	}
	return Use{}, true
}

// Denied lists every request a function was refused so far, with the function's name.
func (g *Guard) Denied() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.denied)
}

// Unused lists the actions of fns' grants that no request used so far. Stream grants are
// not the function's requests (Lambda's poller reads the stream) and are not listed.
func (g *Guard) Unused(fns []manifest.Function) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, fn := range fns {
		for i, tg := range fn.Tables {
			for _, a := range tg.Actions {
				if !g.used[fn.Name][grant{"table", i, a}] {
					out = append(out, fmt.Sprintf("%s: %s on table %s%s", fn.Name, a, tg.Table.Name, indexSuffix(tg.Index)))
				}
			}
		}
		for i, og := range fn.Bucket {
			for _, a := range og.Actions {
				if !g.used[fn.Name][grant{"bucket", i, a}] {
					out = append(out, fmt.Sprintf("%s: %s on %s*", fn.Name, a, og.Prefix))
				}
			}
		}
	}
	return out
}

func indexSuffix(ix string) string {
	if ix == "" {
		return ""
	}
	return " index " + ix
}

func (g *Guard) logicalTable(deployed string) string {
	if name, ok := strings.CutPrefix(deployed, g.tablePrefix); ok {
		return name
	}
	return deployed
}

// itemRequest is what a DynamoDB request says about the items it touches.
type itemRequest struct {
	TableName                string
	IndexName                string
	Key                      map[string]json.RawMessage
	Item                     map[string]json.RawMessage
	UpdateExpression         string
	ConditionExpression      string
	ProjectionExpression     string
	KeyConditionExpression   string
	FilterExpression         string
	ExpressionAttributeNames map[string]string
	AttributesToGet          []string
	ReturnValues             string
	RequestItems             map[string]json.RawMessage
	TransactItems            []map[string]itemRequest
}

// transactActions are the actions IAM checks for each kind of transaction item.
var transactActions = map[string]manifest.Action{
	"Put": manifest.PutItem, "Update": manifest.UpdateItem, "Delete": manifest.DeleteItem,
	"ConditionCheck": manifest.ConditionCheckItem, "Get": manifest.GetItem,
}

// DynamoDBUses returns what the DynamoDB operation op with JSON body needs; table maps a
// deployed table name to its logical name. A transaction needs each item's action, a batch
// its action on each table.
func DynamoDBUses(op string, body []byte, table func(string) string) ([]Use, error) {
	var r itemRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	switch op {
	case "TransactWriteItems", "TransactGetItems":
		var out []Use
		for _, item := range r.TransactItems {
			for kind, ir := range item {
				a, ok := transactActions[kind]
				if !ok {
					return nil, fmt.Errorf("unknown transaction item %q", kind)
				}
				out = append(out, itemUse(a, ir, table))
			}
		}
		return out, nil
	case "BatchGetItem", "BatchWriteItem":
		var out []Use
		for _, name := range slices.Sorted(maps.Keys(r.RequestItems)) {
			out = append(out, Use{Action: manifest.Action("dynamodb:" + op), Table: table(name)})
		}
		return out, nil
	default:
		return []Use{itemUse(manifest.Action("dynamodb:"+op), r, table)}, nil
	}
}

func itemUse(a manifest.Action, r itemRequest, table func(string) string) Use {
	u := Use{Action: a, Table: table(r.TableName), Index: r.IndexName, ReturnValues: r.ReturnValues}
	add := func(name string) {
		if name != "" && !slices.Contains(u.Attributes, name) {
			u.Attributes = append(u.Attributes, name)
		}
	}
	for _, m := range []map[string]json.RawMessage{r.Key, r.Item} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			add(k)
		}
	}
	for _, k := range r.AttributesToGet {
		add(k)
	}
	for _, e := range []string{r.UpdateExpression, r.ConditionExpression, r.ProjectionExpression, r.KeyConditionExpression, r.FilterExpression} {
		for _, name := range topLevelNames(e, r.ExpressionAttributeNames) {
			add(name)
		}
	}
	return u
}

var (
	nameToken = regexp.MustCompile(`#?[A-Za-z_][A-Za-z0-9_]*`)
	// expressionWords are the expression grammar's words, not attribute names.
	expressionWords = map[string]bool{"SET": true, "REMOVE": true, "ADD": true, "DELETE": true,
		"AND": true, "OR": true, "NOT": true, "BETWEEN": true, "IN": true}
)

// topLevelNames returns the top-level attribute of every path in a DynamoDB expression:
// names and #placeholders that are not a value (:v), a nested path's later part (a.b), a
// function (size(...)) or a keyword.
func topLevelNames(expr string, names map[string]string) []string {
	var out []string
	for _, loc := range nameToken.FindAllStringIndex(expr, -1) {
		tok := expr[loc[0]:loc[1]]
		if loc[0] > 0 && (expr[loc[0]-1] == ':' || expr[loc[0]-1] == '.') {
			continue
		}
		if rest := strings.TrimLeft(expr[loc[1]:], " "); strings.HasPrefix(rest, "(") || expressionWords[strings.ToUpper(tok)] {
			continue
		}
		if strings.HasPrefix(tok, "#") {
			tok = names[tok]
		}
		out = append(out, tok)
	}
	return out
}

// S3Use returns what a path-style S3 request needs. HEAD is GetObject to IAM, and a
// request on the bucket itself (listing, creating) is the bucket-level action.
func S3Use(req *http.Request) Use {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	u := Use{Bucket: bucket, Key: key}
	q := req.URL.Query()
	switch {
	case key == "" && req.Method == http.MethodGet:
		u.Action = "s3:ListBucket"
	case key == "" && req.Method == http.MethodPut:
		u.Action = "s3:CreateBucket"
	case key == "":
		u.Action = manifest.Action("s3:" + req.Method + "Bucket")
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
		u.Action = manifest.GetObject
	case req.Method == http.MethodPut || (req.Method == http.MethodPost && (q.Has("uploads") || q.Has("uploadId"))):
		u.Action = manifest.PutObject
	case req.Method == http.MethodDelete:
		u.Action = manifest.DeleteObject
	default:
		u.Action = manifest.Action("s3:" + req.Method + "Object")
	}
	return u
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	_ = req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

func denied(req *http.Request, status int, contentType, body string) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {contentType}, "X-Amzn-Errortype": {"AccessDeniedException"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

type clientFunc func(*http.Request) (*http.Response, error)

func (f clientFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// WatchRedis records every command of fn's Redis client that fn's ACL user was refused
// (NOPERM, or a script's call refused), as Denied lists the refused AWS requests: the
// cache code treats a refusal like an outage and reads DynamoDB, so only this tells it.
func (g *Guard) WatchRedis(fn manifest.Function, rdb redis.UniversalClient) {
	rdb.AddHook(refusals{g: g, fn: fn.Name})
}

type refusals struct {
	g  *Guard
	fn string
}

func (h refusals) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h refusals) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.note(cmd)
		return err
	}
}

func (h refusals) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			h.note(cmd)
		}
		return err
	}
}

func (h refusals) note(cmd redis.Cmder) {
	if err := cmd.Err(); err != nil && IsRefusal(err) {
		h.g.mu.Lock()
		h.g.denied = append(h.g.denied, fmt.Sprintf("%s: cache %s: %v", h.fn, cmd.Name(), err))
		h.g.mu.Unlock()
	}
}

// IsRefusal reports whether err is Redis refusing a command or key to the user, directly
// or inside a script.
func IsRefusal(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "NOPERM") || strings.Contains(msg, "The user executing the script can't")
}

// Caller names the function that sent a request a server received; ok is false for a
// caller the guard does not check (the stage's own all-access identity).
type Caller func(r *http.Request) (fn manifest.Function, ok bool)

// DynamoDBHandler checks at the server what DynamoDB checks at the client: the requests
// of functions that run in processes of their own (the Lambda mode's environments), whose
// clients no guard wraps.
func (g *Guard) DynamoDBHandler(caller Caller, next http.Handler) http.Handler {
	return g.serverSide(caller, g.DynamoDB, next)
}

// S3Handler checks at the server what S3 checks at the client.
func (g *Guard) S3Handler(caller Caller, next http.Handler) http.Handler {
	return g.serverSide(caller, g.S3, next)
}

func (g *Guard) serverSide(caller Caller, wrap func(manifest.Function, HTTPClient) HTTPClient, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, ok := caller(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		allowed := false
		resp, err := wrap(fn, clientFunc(func(*http.Request) (*http.Response, error) {
			allowed = true
			return nil, nil
		})).Do(r)
		switch {
		case allowed:
			next.ServeHTTP(w, r)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			defer resp.Body.Close()
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
		}
	})
}

// NoteCacheRefusal records a cache command fn's Redis user was refused, as found in the
// server's ACL log (for functions whose clients no WatchRedis hook observes).
func (g *Guard) NoteCacheRefusal(fn, refusal string) {
	g.mu.Lock()
	g.denied = append(g.denied, fmt.Sprintf("%s: cache %s", fn, refusal))
	g.mu.Unlock()
}
