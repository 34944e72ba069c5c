package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shop-serverless/shop/functions/internal/api"
)

// MaxPayload is the largest event Lambda accepts for a synchronous invocation (6 MB).
const MaxPayload = 6 << 20

// HTTP invokes the pool with the payload-2.0 event API Gateway builds and answers as API
// Gateway's Lambda integration does: the function's response; when the invocation fails
// (a crash, an error, a timeout) 500 {"message":"Internal Server Error"}; when no environment
// became free before the request ended, 503 {"message":"Service Unavailable"}.
func (p *Pool) HTTP(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	event, err := json.Marshal(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if len(event) > MaxPayload {
		// Lambda refuses the invocation; the local gateway answers it as it answers a body
		// over API Gateway's own limit.
		r := api.Fail(ctx, api.TooLarge("the request is over Lambda's %d-byte invocation payload", MaxPayload))
		return r, nil
	}
	out, err := p.Invoke(ctx, event)
	switch {
	case errors.Is(err, ErrThrottled), errors.Is(err, ErrClosed):
		return gatewayError(http.StatusServiceUnavailable, "Service Unavailable"), nil
	case err != nil:
		fmt.Fprintf(p.cfg.Log, "[%s] invocation failed: %v\n", p.cfg.Name, err)
		return gatewayError(http.StatusInternalServerError, "Internal Server Error"), nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		// API Gateway refuses a payload that is not a response as a failed integration.
		return gatewayError(http.StatusInternalServerError, "Internal Server Error"), nil
	}
	return resp, nil
}

func gatewayError(status int, message string) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(map[string]string{"message": message})
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: string(b),
		Headers: map[string]string{"content-type": "application/json"}}
}
