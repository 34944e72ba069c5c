package manifest

import (
	"encoding/json"
	"testing"
)

// TestEdgeRateLimitedBody: the edge's 429 is the contract's error body.
func TestEdgeRateLimitedBody(t *testing.T) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(EdgeRateLimitedBody), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Code != "rate_limited" || body.Error.Message == "" {
		t.Fatalf("body %s: want code rate_limited and a message", EdgeRateLimitedBody)
	}
}
