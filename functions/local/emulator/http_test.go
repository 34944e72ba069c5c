package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shop-serverless/shop/functions/manifest"
)

// The health function's deployment binary, built as the program builds it, answers its
// route under the emulator.
func TestRealBootstrapServesItsRoute(t *testing.T) {
	rie, err := EmulatorPath()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := Build(context.Background(), t.TempDir(), manifest.Health)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(Config{Name: manifest.Health, Bootstrap: bin, Emulator: rie, Timeout: 10 * time.Second,
		MemoryMB: 128, Env: map[string]string{manifest.EnvLogLevel: "info"}, Log: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := p.HTTP(ctx, events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: manifest.GetHealth.Key(),
		RawPath: manifest.GetHealth.Path, RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "r1",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: manifest.GetHealth.Path}}})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &body) != nil || body["status"] != "ok" {
		t.Errorf("GET /health: %d %s", resp.StatusCode, resp.Body)
	}
}

// A request past the function's timeout is answered as API Gateway answers a failed Lambda
// integration.
func TestTimedOutRequestIsAnsweredAsAPIGatewayDoes(t *testing.T) {
	p, _ := newPool(t, Config{Timeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := p.HTTP(ctx, events.APIGatewayV2HTTPRequest{Version: "2.0", Headers: map[string]string{"x-sleep-ms": "5000"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusInternalServerError || resp.Body != `{"message":"Internal Server Error"}` {
		t.Errorf("after a timeout: %d %s", resp.StatusCode, resp.Body)
	}
	if s := p.Stats(); s.Running != 0 {
		t.Errorf("the timed-out environment still runs: %+v", s)
	}
}
