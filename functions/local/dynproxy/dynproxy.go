// Package dynproxy puts DynamoDB's per-key throughput limits in front of DynamoDB Local, which
// has none. The local stage gives the functions this proxy as their DynamoDB endpoint
// (AWS_ENDPOINT_URL_DYNAMODB). It meters the capacity each request consumes per item key and
// per second as the service bills it, refuses requests on a key past its limits with the
// error the service sends for an on-demand table, and counts requests, consumed capacity and
// throttled requests per function and table (a function's endpoint URL ends in its name), so
// benchmarks read them from one place whether the functions run in the stage's process or in
// their own.
//
// How capacity is metered (the service's billing rule for on-demand tables):
//
//   - Reads are counted in 4 KB units of the item size: a strongly consistent read is 1 read
//     unit per 4 KB, an eventually consistent one half of that, a transactional one 2.
//   - Writes are counted in 1 KB units of the larger of the old and new item: 1 write unit per
//     KB, 2 inside a transaction; a write that fails its condition still costs the minimum.
//
// The proxy asks DynamoDB Local for ReturnConsumedCapacity on every request (and removes it
// from the answer when the caller did not ask), since DynamoDB Local applies the same sizes
// for single-item operations, queries and scans. Two things it computes itself: DynamoDB
// Local's figures for transactions follow no rule (one 2-unit item is reported as 8 units,
// two as 8), so a transactional write is charged 2 units per KB of the larger of the item it
// puts and the item stored before (which the proxy reads first); and DynamoDB Local reports
// nothing for a refused request, so a failed write is charged the minimum (1 unit, 2 for
// each item of a cancelled transaction). A batch's units on one table are shared evenly by
// the items it names there.
//
// Limits hold per item key (a query's per partition key value): DynamoDB splits a busy
// partition by key range, but one key is never split, so its 3,000 read and 1,000 write
// units a second are the limit a hot item always meets. Each key has a token bucket of one
// second of its limit. Before a request is forwarded its units are estimated by the rule
// above from the sizes of the items it puts and of those stored (read first; a query's
// estimate is what its partition's last query consumed), and it is admitted only if the
// buckets of the keys it touches hold them, which reserves them: concurrent requests on one
// key cannot pass on the same units. Once DynamoDB Local answers, each key is charged what
// the request consumed in place of its reservation.
// Scans and batch operations are metered and counted but never throttled; capacity of global
// secondary indexes is counted per table, not limited per key.
package dynproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServiceLimits are DynamoDB's per-partition limits, in capacity units a second.
var ServiceLimits = Limits{ReadUnits: 3000, WriteUnits: 1000}

// Limits are the per-key limits in capacity units a second; zero means no limit.
type Limits struct {
	ReadUnits, WriteUnits float64
}

// Scaled returns the limits times f: a machine f times as fast as the service's partitions
// shows at ServiceLimits.Scaled(0.1) what the cloud does at ServiceLimits.
func (l Limits) Scaled(f float64) Limits {
	return Limits{ReadUnits: l.ReadUnits * f, WriteUnits: l.WriteUnits * f}
}

// KeySchema names a table's or index's key attributes; Range is empty without a sort key.
type KeySchema struct {
	Hash, Range string
	// Indexes are the table's global secondary indexes by name.
	Indexes map[string]KeySchema
}

// Options configure a Proxy.
type Options struct {
	// Tables are the key schemas by deployed table name.
	Tables map[string]KeySchema
	// Limits are the per-key limits; zero: meter and count only.
	Limits Limits
	// Region and Account build the table ARNs in throttling reasons.
	Region, Account string
	// Now is the clock the buckets refill by; nil: time.Now.
	Now func() time.Time
}

// Usage is what one caller did to one table.
type Usage struct {
	Requests int64 `json:"requests"`
	// Throttled counts the requests refused for throughput.
	Throttled int64 `json:"throttled"`
	// ReadUnits and WriteUnits are the capacity consumed, indexes included, as billed.
	ReadUnits  float64 `json:"read_units"`
	WriteUnits float64 `json:"write_units"`
	// Operations counts requests per operation ("GetItem").
	Operations map[string]int64 `json:"operations"`
}

// Caller is a function (or access key) on a deployed table.
type Caller struct {
	Function string `json:"function"`
	Table    string `json:"table"`
}

// Proxy is an http.Handler that meters, limits and forwards DynamoDB requests.
type Proxy struct {
	opts      Options
	target    *url.URL
	transport http.RoundTripper
	next      *httputil.ReverseProxy
	now       func() time.Time

	mu      sync.Mutex
	outage  bool
	limits  Limits
	buckets map[string]*bucket
	last    map[string]float64 // units the key's last request of its kind consumed
	usage   map[Caller]*Usage
}

// New returns a proxy to DynamoDB Local at target.
func New(target *url.URL, opts Options) *Proxy {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Proxy{opts: opts, now: opts.Now, limits: opts.Limits, target: target,
		transport: &http.Transport{MaxIdleConnsPerHost: 1000, IdleConnTimeout: 90 * time.Second},
		buckets:   map[string]*bucket{}, last: map[string]float64{}, usage: map[Caller]*Usage{}}
	p.next = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.URL.Path, r.Out.URL.RawPath, r.Out.Host = "/", "", target.Host
		},
		Transport: p.transport,
	}
	return p
}

// SetLimits changes the per-key limits from now on; zero turns limiting off.
func (p *Proxy) SetLimits(l Limits) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limits = l
	p.buckets = map[string]*bucket{}
}

// SetOutage makes every data-plane request fail, from now on, as the service answers when it
// fails internally (HTTP 500, InternalServerError), until it is called with false.
func (p *Proxy) SetOutage(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outage = on
}

func (p *Proxy) down() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.outage
}

// Usage returns a copy of the counts so far, per function and table.
func (p *Proxy) Usage() map[Caller]Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Caller]Usage, len(p.usage))
	for c, u := range p.usage {
		v := *u
		v.Operations = maps.Clone(u.Operations)
		out[c] = v
	}
	return out
}

// Reset forgets the counts so far (not the buckets).
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.usage = map[Caller]*Usage{}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	req, err := parseRequest(op, body, p.opts.Tables)
	if err != nil || len(req.tables) == 0 {
		// Control-plane calls (CreateTable, ...) and what DynamoDB Local will refuse anyway.
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.next.ServeHTTP(w, r)
		return
	}
	fn := p.caller(r)
	if p.down() {
		writeError(w, http.StatusInternalServerError, struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{internalErrorType, "Internal server error"})
		return
	}
	if req.op == "TransactWriteItems" || p.limit(req) > 0 {
		p.estimate(r, req)
	}
	if refused := p.admit(req); refused != nil {
		p.count(fn, req, nil, true)
		p.throttle(w, r, req, refused)
		return
	}
	askedCapacity := req.returnCapacity != "" && req.returnCapacity != "NONE"
	if !askedCapacity {
		body = withCapacity(body)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	rec := httptest.NewRecorder()
	p.next.ServeHTTP(rec, r)
	perItem, perTable := charges(req, parseConsumed(rec.Body.Bytes()), rec.Code)
	p.settle(req, perItem)
	p.count(fn, req, perTable, false)
	out := rec.Body.Bytes()
	if !askedCapacity && rec.Code == http.StatusOK {
		out = withoutCapacity(out)
	}
	// The checksum of what is sent: DynamoDB Local's own is wrong on some error answers.
	rec.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(out)), 10))
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(out)
}

// caller is the function that sent r: each function's endpoint ends in its own name
// (http://127.0.0.1:port/orders), in-process and in Lambda mode alike.
func (p *Proxy) caller(r *http.Request) string {
	if fn := strings.Trim(r.URL.Path, "/"); fn != "" {
		return fn
	}
	return "unnamed"
}

// count adds one request's counts: its units per table, indexes included.
func (p *Proxy) count(fn string, req *request, perTable map[string]float64, throttled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range req.tables {
		u := p.usage[Caller{fn, t}]
		if u == nil {
			u = &Usage{Operations: map[string]int64{}}
			p.usage[Caller{fn, t}] = u
		}
		u.Requests++
		u.Operations[req.op]++
		if throttled {
			u.Throttled++
		}
		if req.write {
			u.WriteUnits += perTable[t]
		} else {
			u.ReadUnits += perTable[t]
		}
	}
}

// charges are the units an answered request consumed: per item (the base table's, for the
// buckets) and per table, indexes included (for the counts).
func charges(req *request, consumed []consumedCapacity, status int) (perItem []float64, perTable map[string]float64) {
	perItem = make([]float64, len(req.items))
	perTable = map[string]float64{}
	switch {
	case status == http.StatusOK && req.units != nil:
		copy(perItem, req.units)
		for i, it := range req.items {
			perTable[it.table] += perItem[i]
		}
	case status == http.StatusOK:
		items := map[string]int{}
		for _, it := range req.items {
			items[it.table]++
		}
		base := map[string]float64{}
		for _, c := range consumed {
			base[c.TableName] += c.tableUnits()
			perTable[c.TableName] += c.CapacityUnits
		}
		for i, it := range req.items {
			perItem[i] = base[it.table] / float64(items[it.table])
		}
	case req.write:
		for i, it := range req.items {
			perItem[i] = req.minUnits()
			perTable[it.table] += perItem[i]
		}
	}
	return perItem, perTable
}

// withCapacity asks DynamoDB Local for the consumed capacity, indexes included.
func withCapacity(body []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return body
	}
	m["ReturnConsumedCapacity"] = json.RawMessage(`"INDEXES"`)
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

// withoutCapacity removes the ConsumedCapacity the caller did not ask for.
func withoutCapacity(body []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return body
	}
	if _, ok := m["ConsumedCapacity"]; !ok {
		return body
	}
	delete(m, "ConsumedCapacity")
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

// consumedCapacity is one table's entry of an answer's ConsumedCapacity.
type consumedCapacity struct {
	TableName     string
	CapacityUnits float64
	Table         *struct{ CapacityUnits float64 }
}

// tableUnits is the base table's share, which per-key limits apply to.
func (c consumedCapacity) tableUnits() float64 {
	if c.Table != nil {
		return c.Table.CapacityUnits
	}
	return c.CapacityUnits
}

func parseConsumed(body []byte) []consumedCapacity {
	var out struct{ ConsumedCapacity json.RawMessage }
	if json.Unmarshal(body, &out) != nil || len(out.ConsumedCapacity) == 0 {
		return nil
	}
	var many []consumedCapacity
	if json.Unmarshal(out.ConsumedCapacity, &many) == nil {
		return many
	}
	var one consumedCapacity
	if json.Unmarshal(out.ConsumedCapacity, &one) == nil && one.TableName != "" {
		return []consumedCapacity{one}
	}
	return nil
}

// tableARN is the ARN the service names a throttled table by.
func (p *Proxy) tableARN(table string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", p.opts.Region, p.opts.Account, table)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
