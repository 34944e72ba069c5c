package dynproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strings"
)

// estimate computes what each item of req will cost by the billing rule, from the sizes
// the rule names: the item a write puts (from the request) and the item stored now (read
// from DynamoDB Local, past the meter). A write costs 1 unit per KB of the larger, 2 in a
// transaction; a read 1 unit per 4 KB of the stored item (half of it eventually
// consistent, 2 in a transaction); never less than the request's minimum. An update's new
// size is not known before it runs, so its estimate is the stored item's; a query's is what
// the partition's last query consumed. Transactional writes keep their estimates as their
// charge (DynamoDB Local's figures for them follow no rule); other requests settle to what
// DynamoDB Local reports.
func (p *Proxy) estimate(r *http.Request, req *request) {
	req.estimates = make([]float64, len(req.items))
	for i, it := range req.items {
		if it.keyAttrs == nil { // a query's partition
			req.estimates[i] = p.lastUnits(req, it)
			continue
		}
		bytes := itemSize(it.put)
		if !it.fresh {
			bytes = max(bytes, p.storedSize(r, it.table, it.keyAttrs))
		}
		per := 1024.0
		if !req.write {
			per = 4096
		}
		u := max(1, math.Ceil(float64(bytes)/per))
		switch {
		case req.transactional:
			u *= 2
		case !req.write && !req.consistent:
			u /= 2
		}
		req.estimates[i] = u
	}
	if req.op == "TransactWriteItems" {
		req.units = req.estimates
	}
}

// storedSize reads an item from DynamoDB Local, past the meter, and returns its size; 0
// when it does not exist.
func (p *Proxy) storedSize(r *http.Request, table string, key map[string]json.RawMessage) int {
	in, _ := json.Marshal(map[string]any{"TableName": table, "Key": key, "ConsistentRead": true})
	get, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.target.String()+"/", bytes.NewReader(in))
	if err != nil {
		return 0
	}
	get.Header.Set("Content-Type", "application/x-amz-json-1.0")
	get.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	get.Header.Set("Authorization", r.Header.Get("Authorization"))
	resp, err := p.transport.RoundTrip(get)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out struct{ Item map[string]json.RawMessage }
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	return itemSize(out.Item)
}

// itemSize is an item's size as DynamoDB counts it: each attribute's name and value.
func itemSize(item map[string]json.RawMessage) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// valueSize is the size of one attribute value: strings and binaries by their bytes,
// numbers by about half their significant digits plus one, booleans and null one byte,
// lists and maps 3 bytes plus one per element and their elements (and a map's names).
func valueSize(raw json.RawMessage) int {
	var av map[string]json.RawMessage
	if json.Unmarshal(raw, &av) != nil {
		return 0
	}
	for typ, v := range av {
		switch typ {
		case "S":
			var s string
			_ = json.Unmarshal(v, &s)
			return len(s)
		case "N":
			var s string
			_ = json.Unmarshal(v, &s)
			return numberSize(s)
		case "B":
			var s string
			_ = json.Unmarshal(v, &s)
			b, _ := base64.StdEncoding.DecodeString(s)
			return len(b)
		case "BOOL", "NULL":
			return 1
		case "SS", "NS", "BS":
			var ss []string
			_ = json.Unmarshal(v, &ss)
			n := 0
			for _, s := range ss {
				switch typ {
				case "NS":
					n += numberSize(s)
				case "BS":
					b, _ := base64.StdEncoding.DecodeString(s)
					n += len(b)
				default:
					n += len(s)
				}
			}
			return n
		case "L":
			var l []json.RawMessage
			_ = json.Unmarshal(v, &l)
			n := 3
			for _, e := range l {
				n += 1 + valueSize(e)
			}
			return n
		case "M":
			var m map[string]json.RawMessage
			_ = json.Unmarshal(v, &m)
			n := 3
			for k, e := range m {
				n += 1 + len(k) + valueSize(e)
			}
			return n
		}
	}
	return 0
}

func numberSize(s string) int {
	digits := strings.Trim(strings.NewReplacer("-", "", "+", "", ".", "").Replace(strings.SplitN(strings.ToLower(s), "e", 2)[0]), "0")
	return (len(digits)+1)/2 + 1
}
