package gateway

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shop-serverless/shop/functions/manifest"
)

// Event builds the event API Gateway's HTTP API sends a Lambda proxy integration with payload
// format 2.0 for r on route, with body already read and claims from the authorizer (nil on
// public routes).
func Event(r *http.Request, route manifest.Route, body []byte, claims map[string]string, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for name, vals := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			continue // payload 2.0 moves cookies to their own field
		}
		headers[name] = strings.Join(vals, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var cookies []string
	for _, c := range r.Header.Values("Cookie") {
		for _, part := range strings.Split(c, ";") {
			if part = strings.TrimSpace(part); part != "" {
				cookies = append(cookies, part)
			}
		}
	}
	query := queryParameters(r.URL.RawQuery)
	var params map[string]string
	for _, name := range pathParamNames(route.Path) {
		if params == nil {
			params = map[string]string{}
		}
		params[name] = r.PathValue(name)
	}
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   hostOnly(r.Host),
			DomainPrefix: strings.Split(hostOnly(r.Host), ".")[0],
			Time:         now.UTC().Format(timeLayout),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: claims,
				// API Gateway passes the token's space-separated "scope" claim as a list.
				Scopes: strings.Fields(claims["scope"]),
			},
		}
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// queryParameters decodes a raw query string as API Gateway does: pairs split on "&" only
// (url.ParseQuery also splits on ";" and drops such pairs), repeated names joined with
// commas. A pair that is not valid URL encoding is left out; the function sees it in
// rawQueryString.
func queryParameters(raw string) map[string]string {
	var query map[string]string
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, errName := url.QueryUnescape(k)
		value, errValue := url.QueryUnescape(v)
		if errName != nil || errValue != nil {
			continue
		}
		if query == nil {
			query = map[string]string{}
		}
		if prev, ok := query[name]; ok {
			value = prev + "," + value
		}
		query[name] = value
	}
	return query
}

// isText says whether API Gateway passes a body of this type as text rather than base64.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-www-form-urlencoded",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// pathParamNames lists the {name} segments of a route path.
func pathParamNames(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"))
		}
	}
	return names
}

// FlattenClaims renders JWT claims as API Gateway's JWT authorizer passes them to the
// function: every value a string, lists as "[a b]".
func FlattenClaims(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		out[k] = flatten(v)
	}
	return out
}

func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		if v == float64(int64(v)) {
			return fmt.Sprintf("%d", int64(v))
		}
		return fmt.Sprint(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = flatten(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + flatten(v[k])
		}
		return "map[" + strings.Join(parts, " ") + "]"
	default:
		return fmt.Sprint(v)
	}
}

// timeLayout is requestContext.time's layout in API Gateway's events.
const timeLayout = "02/Jan/2006:15:04:05 -0700"
