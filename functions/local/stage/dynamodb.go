package stage

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shop-serverless/shop/functions/local/dynproxy"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// AdminIdentity is the name the stage's own requests (seeding, tests inspecting state) are
// counted under by its DynamoDB endpoint.
const AdminIdentity = cacheAdmin

// localAccount is the account id in the stage's ARNs, the one DynamoDB Local uses.
const localAccount = "000000000000"

// serveDynamoDB serves the DynamoDB endpoint functions get: DynamoDB Local behind a proxy
// that meters each key's capacity as the service bills it, throttles past the per-key
// limits the stage's options set, and counts requests per function and table. It sets
// dynamoURL; it stops with the stage.
func (s *Stage) serveDynamoDB() error {
	target, err := url.Parse(s.Servers.DynamoDB.URL())
	if err != nil {
		return fmt.Errorf("DynamoDB Local URL: %w", err)
	}
	ln, err := listen("")
	if err != nil {
		return err
	}
	s.dynamoURL = "http://" + ln.Addr().String()
	schemas := map[string]dynproxy.KeySchema{}
	for _, t := range tables.All {
		schemas[tablePrefix+t.Name] = keySchemaOf(t)
	}
	s.dynamo = dynproxy.New(target, dynproxy.Options{
		Tables:  schemas,
		Limits:  s.opts.DynamoDBLimits,
		Region:  region,
		Account: localAccount,
	})
	// The stage's IAM checks each function's requests, known by its endpoint's path.
	var h http.Handler = s.guard.DynamoDBHandler(func(r *http.Request) (manifest.Function, bool) {
		return manifest.FunctionByName(strings.Trim(r.URL.Path, "/"))
	}, s.dynamo)
	if wrap := s.opts.DynamoDBClient; wrap != nil && s.runtime == Lambda {
		h = clientHook(wrap, h)
	}
	s.serve(ln, h)
	return nil
}

// clientHook runs Options.DynamoDBClient at the endpoint for functions that run as processes
// of their own (Lambda mode), where no hook can wrap their client: the hook sees each request
// of the function the endpoint's path names, and what it answers is the function's answer.
func clientHook(wrap func(string, dynamodb.HTTPClient) dynamodb.HTTPClient, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := wrap(strings.Trim(r.URL.Path, "/"), handlerClient{next}).Do(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
}

// handlerClient is an HTTP client whose every request is served by a handler.
type handlerClient struct{ h http.Handler }

func (c handlerClient) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func keySchemaOf(t tables.Table) dynproxy.KeySchema {
	ks := dynproxy.KeySchema{Hash: t.HashKey.Name, Indexes: map[string]dynproxy.KeySchema{}}
	if t.RangeKey != nil {
		ks.Range = t.RangeKey.Name
	}
	for _, ix := range t.Indexes {
		is := dynproxy.KeySchema{Hash: ix.HashKey.Name}
		if ix.RangeKey != nil {
			is.Range = ix.RangeKey.Name
		}
		ks.Indexes[ix.Name] = is
	}
	return ks
}

// DynamoDB is the stage's DynamoDB endpoint: its per-key limits (SetLimits) and its counts
// of each function's requests, consumed capacity and throttled requests per table (Usage).
func (s *Stage) DynamoDB() *dynproxy.Proxy { return s.dynamo }
