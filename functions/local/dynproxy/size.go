package dynproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strings"
)

// sizeTransaction computes what each item of a TransactWriteItems costs, as the service
// bills it: 2 write units per KB of the larger of the item put (for a Put) and the item
// stored now (read from DynamoDB Local for updates, deletes and condition checks), at least 2.
func (p *Proxy) sizeTransaction(r *http.Request, req *request, raw []byte) {
	var b body
	if json.Unmarshal(raw, &b) != nil {
		return
	}
	req.units = make([]float64, 0, len(req.items))
	for _, ti := range b.TransactItems {
		for kind, part := range ti {
			bytes := 0
			if kind == "Put" {
				bytes = itemSize(part.Item)
			} else {
				bytes = p.storedSize(r, part.TableName, part.Key)
			}
			req.units = append(req.units, 2*max(1, math.Ceil(float64(bytes)/1024)))
		}
	}
	if len(req.units) != len(req.items) {
		req.units = nil
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
