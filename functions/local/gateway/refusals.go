package gateway

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/shop-serverless/shop/functions/internal/api"
)

// JSONRefusals wraps the listener the gateway is served on, so that the requests net/http
// refuses before any handler sees them (a bad escape such as "/%ZZ" in the request line,
// malformed headers) are answered with the contract's error body, not net/http's plain
// text. The status stays net/http's.
func JSONRefusals(ln net.Listener) net.Listener { return refusalListener{ln} }

type refusalListener struct{ net.Listener }

func (l refusalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return refusalConn{c}, nil
}

// refusalHeaders are the headers net/http writes, in one Write straight to the connection,
// when it refuses a request it could not parse. Responses of handlers always carry a Date
// header after the status line, so they never start this way.
const refusalHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

type refusalConn struct{ net.Conn }

func (c refusalConn) Write(p []byte) (int, error) {
	status, ok := refusalStatus(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(refusal(status)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// refusalStatus returns the status of a refusal net/http writes: "HTTP/1.1 400 Bad Request"
// followed by refusalHeaders.
func refusalStatus(p []byte) (int, bool) {
	line, rest, ok := bytes.Cut(p, []byte("\r\n"))
	if !ok || !bytes.HasPrefix(rest, []byte(refusalHeaders[2:])) {
		return 0, false
	}
	proto, code, ok := strings.Cut(string(line), " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") || len(code) < 3 {
		return 0, false
	}
	status, err := strconv.Atoi(code[:3])
	if err != nil || status < 400 || status > 599 {
		return 0, false
	}
	return status, true
}

// refusal is the whole response for a refused request, with the contract's error body.
func refusal(status int) []byte {
	resp := api.Fail(context.Background(), &api.Error{Status: status, Code: "invalid_request",
		Message: "the request is not valid HTTP: " + strings.ToLower(http.StatusText(status))})
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), resp.Headers["Content-Type"], len(resp.Body), resp.Body)
}
