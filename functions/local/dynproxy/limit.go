package dynproxy

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// bucket is one key's token bucket: it holds at most one second of the limit and refills at
// the limit. Charges that exceed what was reserved may take it below zero.
type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) refill(now time.Time, limit float64) {
	b.tokens = min(limit, b.tokens+limit*now.Sub(b.at).Seconds())
	b.at = now
}

// bucketKey is the bucket of an item's reads or writes.
func (r *request) bucketKey(it item) string {
	if r.write {
		return "w|" + it.key
	}
	return "r|" + it.key
}

// limit is the per-key limit req is held to; 0 when it is not held to one.
func (p *Proxy) limit(req *request) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limitLocked(req)
}

func (p *Proxy) limitLocked(req *request) float64 {
	if !req.limited {
		return 0
	}
	if req.write {
		return p.limits.WriteUnits
	}
	return p.limits.ReadUnits
}

// admit reserves each limited key's estimated units (req.estimates) from its bucket before
// the request is forwarded, so concurrent requests on a key cannot pass together on units
// only one of them would find. It returns nil when req may pass, or, per item, whether it
// was refused. A request that costs more than a second of the limit passes on a full bucket
// (and leaves it owing).
func (p *Proxy) admit(req *request) []bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	limit := p.limitLocked(req)
	if limit <= 0 || len(req.estimates) != len(req.items) {
		return nil
	}
	now := p.now()
	refused := make([]bool, len(req.items))
	need := map[string]float64{} // a transaction may name a key twice: DynamoDB refuses it, but not before this
	any := false
	for i, it := range req.items {
		k := req.bucketKey(it)
		need[k] += req.estimates[i]
		if b := p.bucket(k, now, limit); b.tokens < min(need[k], limit) {
			refused[i], any = true, true
		}
	}
	if any {
		return refused
	}
	req.reserved = make([]float64, len(req.items))
	for i, it := range req.items {
		req.reserved[i] = req.estimates[i]
		p.buckets[req.bucketKey(it)].tokens -= req.reserved[i]
	}
	return nil
}

func (p *Proxy) bucket(key string, now time.Time, limit float64) *bucket {
	b := p.buckets[key]
	if b == nil {
		b = &bucket{tokens: limit, at: now}
		p.buckets[key] = b
	}
	b.refill(now, limit)
	return b
}

// lastUnits is what the key's last request of req's kind consumed (the minimum for a key
// not seen before): the estimate of a query, whose size is known only once it ran.
func (p *Proxy) lastUnits(req *request, it item) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u, ok := p.last[req.bucketKey(it)]; ok {
		return u
	}
	return req.minUnits()
}

// settle charges each key of an admitted request the units it consumed, in place of the
// estimate admit reserved: a throttled request was charged nothing.
func (p *Proxy) settle(req *request, actual []float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, it := range req.items {
		k := req.bucketKey(it)
		if req.reserved != nil {
			if b := p.buckets[k]; b != nil {
				b.tokens += req.reserved[i] - actual[i]
			}
		}
		if actual[i] > 0 {
			p.last[k] = actual[i]
		}
	}
}

// The service's words for a key past its partition's limits on an on-demand table.
const (
	throttledMessage = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
	throttlingType   = "com.amazon.coral.availability#ThrottlingException"
	canceledType     = "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
	// internalErrorType is the service failing on its side (HTTP 500): the SDK retries it.
	internalErrorType = "com.amazonaws.dynamodb.v20120810#InternalServerError"
)

// throttle answers req as the service answers a request on a key past its limits: a
// transaction is cancelled with ThrottlingError for the refused items and None for the
// others; any other request is a ThrottlingException naming why and which table or index.
// Both are HTTP 400, which the SDK retries (the exception) or leaves to the caller (the
// cancellation).
func (p *Proxy) throttle(w http.ResponseWriter, r *http.Request, req *request, refused []bool) {
	var v any
	if req.transactional {
		type reason struct {
			Code    string
			Message string `json:",omitempty"`
		}
		reasons := make([]reason, len(refused))
		codes := make([]string, len(refused))
		for i, no := range refused {
			reasons[i], codes[i] = reason{Code: "None"}, "None"
			if no {
				reasons[i], codes[i] = reason{Code: "ThrottlingError", Message: throttledMessage}, "ThrottlingError"
			}
		}
		v = struct {
			Type                string `json:"__type"`
			CancellationReasons []reason
			Message             string
		}{canceledType, reasons, "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"}
	} else {
		type throttlingReason struct {
			Reason   string `json:"reason"`
			Resource string `json:"resource"`
		}
		var reasons []throttlingReason
		for i, no := range refused {
			if !no {
				continue
			}
			it := req.items[i]
			kind, resource := "Table", p.tableARN(it.table)
			if it.index != "" {
				kind, resource = "Index", resource+"/index/"+it.index
			}
			opKind := "Read"
			if req.write {
				opKind = "Write"
			}
			reasons = append(reasons, throttlingReason{kind + opKind + "KeyRangeThroughputExceeded", resource})
		}
		v = struct {
			Type    string             `json:"__type"`
			Message string             `json:"message"`
			Reasons []throttlingReason `json:"throttlingReasons"`
		}{throttlingType, throttledMessage, reasons}
	}
	writeError(w, http.StatusBadRequest, v)
}

// writeError answers as the service does when it refuses a request: status and JSON body
// with the headers the SDK reads (its checksum among them).
func writeError(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	h.Set("X-Amzn-Requestid", requestID())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// requestID is shaped like the service's request ids: 52 upper-case letters and digits.
func requestID() string {
	b := make([]byte, 33)
	_, _ = rand.Read(b)
	return base32.StdEncoding.EncodeToString(b)[:52]
}
