package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// Request and Response are API Gateway HTTP API events, payload format 2.0.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

const contentTypeJSON = "application/json; charset=utf-8"

// JSON answers status with v as the body.
func JSON(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types reach here; a failure is a bug, not the client's fault.
		return errorResponse(errInternal)
	}
	return Response{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": contentTypeJSON},
		Body:       string(b),
	}
}

// RawJSON answers status with body, which is already JSON (a cached document, say).
func RawJSON(status int, body []byte) Response {
	return Response{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": contentTypeJSON},
		Body:       string(body),
	}
}

// NoContent answers 204.
func NoContent() Response {
	return Response{StatusCode: http.StatusNoContent, Headers: map[string]string{}}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func errorResponse(e *Error) Response {
	var b errorBody
	b.Error.Code, b.Error.Message = e.Code, e.Message
	body, _ := json.Marshal(b)
	r := Response{
		StatusCode: e.Status,
		Headers:    map[string]string{"Content-Type": contentTypeJSON},
		Body:       string(body),
	}
	if e.RetryAfter > 0 {
		r.Headers["Retry-After"] = strconv.Itoa(e.RetryAfter)
	}
	return r
}
