package stage_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/local/gateway"
	"github.com/shop-serverless/shop/functions/manifest"
)

// fromAddress is an HTTP client whose connections come from the loopback address ip, as a
// client of its own address.
func fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

func send(t *testing.T, c *http.Client, method, url string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(""))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// One address over the edge's rule for every route gets 429 with the edge's body and
// Retry-After the window, while another address is served; POST /orders has a tighter
// rule of its own, counted on top.
func TestAddressOverEdgeRuleIsRefusedWhileAnotherIsServed(t *testing.T) {
	rates := gateway.AddressRates{Window: time.Minute, PerAddress: 30, OrdersPerAddress: 5}
	url, err := st.ServeWithEdgeRates(context.Background(), rates)
	if err != nil {
		t.Fatal(err)
	}
	flooder, other := fromAddress("127.0.0.2"), fromAddress("127.0.0.3")

	// POST /orders without a token: 401 from the gateway while under the orders rule.
	for range rates.OrdersPerAddress {
		if status, _, body := send(t, flooder, "POST", url+"/orders"); status != http.StatusUnauthorized {
			t.Fatalf("order attempt under the rule: %d %s", status, body)
		}
	}
	status, h, body := send(t, flooder, "POST", url+"/orders")
	if status != http.StatusTooManyRequests || body != manifest.EdgeRateLimitedBody || h.Get("Retry-After") != "60" {
		t.Fatalf("order attempt over the rule: %d %q Retry-After %q", status, body, h.Get("Retry-After"))
	}
	if status, _, _ := send(t, flooder, "GET", url+"/health"); status != http.StatusOK {
		t.Fatalf("another route from the same address is under its rule: %d", status)
	}
	if status, _, _ := send(t, other, "POST", url+"/orders"); status != http.StatusUnauthorized {
		t.Fatalf("another address's order attempt: %d", status)
	}

	// Every route: the flooder has sent 7 counted requests; the rest of its 30 pass.
	refused := 0
	for range 40 {
		if status, h, body := send(t, flooder, "GET", url+"/health"); status == http.StatusTooManyRequests {
			refused++
			if body != manifest.EdgeRateLimitedBody || h.Get("Retry-After") != "60" {
				t.Errorf("refusal %q Retry-After %q", body, h.Get("Retry-After"))
			}
		}
	}
	if refused == 0 {
		t.Fatal("an address 47 requests into a window of 30 was never refused")
	}
	for range 5 {
		if status, _, body := send(t, other, "GET", url+"/health"); status != http.StatusOK {
			t.Fatalf("another address refused: %d %s", status, body)
		}
	}
}
