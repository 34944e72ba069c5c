package origin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// The secret is read with one SigV4-signed call of SSM's JSON protocol (awsJson1_1), not
// the SSM SDK client: that package's initialisation (its schemas, 1.4 MB) ran at every cold
// start of every API function for this single call.
const (
	ssmTarget      = "AmazonSSM.GetParameter"
	ssmContentType = "application/x-amz-json-1.1"
	// maxAnswer bounds what is read of SSM's answer; a parameter's value is at most 8 KB.
	maxAnswer = 1 << 20
	// attemptTimeout bounds each attempt, so that a connection that hangs is retried within
	// Lambda's 10 s init rather than spending all of it.
	attemptTimeout = 2 * time.Second
)

// Load reads the secret from the SecureString parameter name (with its version selector),
// decrypted, with SSM's GetParameter at endpoint (empty: the regional endpoint of
// cfg.Region), signed with cfg.Credentials, each attempt within attemptTimeout and retried
// by cfg.Retryer (the SDK's standard retryer where it is nil) on what that retryer deems
// transient. A refusal (the parameter
// missing, access denied) fails at once with SSM's error code; no error carries the value.
func Load(ctx context.Context, cfg aws.Config, endpoint, name string) (*Check, error) {
	if endpoint == "" {
		endpoint = regionalEndpoint(cfg.Region)
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("origin secret %s: no credentials", name)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	var retryer aws.Retryer = retry.NewStandard()
	if cfg.Retryer != nil {
		retryer = cfg.Retryer()
	}
	body, err := json.Marshal(struct {
		Name           string
		WithDecryption bool
	}{name, true})
	if err != nil {
		return nil, fmt.Errorf("origin secret %s: %w", name, err)
	}
	for attempt := 1; ; attempt++ {
		try := func() (string, error) {
			ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
			defer cancel()
			return getParameter(ctx, cfg, client, strings.TrimSuffix(endpoint, "/")+"/", body)
		}
		value, err := try()
		if err == nil {
			return New(value)
		}
		if attempt >= retryer.MaxAttempts() || !retryer.IsErrorRetryable(err) {
			return nil, fmt.Errorf("origin secret %s: %w", name, err)
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, fmt.Errorf("origin secret %s: %w", name, errors.Join(err, derr))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("origin secret %s: %w", name, errors.Join(err, ctx.Err()))
		case <-time.After(delay):
		}
	}
}

// regionalEndpoint is SSM's endpoint in region.
func regionalEndpoint(region string) string {
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://ssm." + region + "." + domain
}

// getParameter sends one signed GetParameter and returns the parameter's value.
func getParameter(ctx context.Context, cfg aws.Config, client aws.HTTPClient, url string, body []byte) (string, error) {
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", ssmContentType)
	req.Header.Set("X-Amz-Target", ssmTarget)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", cfg.Region, time.Now().UTC()); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err // a connection error, which the retryer retries
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("read GetParameter answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", newAPIError(resp, answer)
	}
	var out struct {
		Parameter *struct{ Value *string }
	}
	if err := json.Unmarshal(answer, &out); err != nil {
		// The answer holds the secret: the error says what failed, never what was read.
		return "", errors.New("GetParameter answer is not JSON")
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", errors.New("GetParameter answer has no value")
	}
	return *out.Parameter.Value, nil
}

// apiError is SSM's refusal of a call: its error code and message (which never hold a
// parameter's value). It is a smithy.APIError with the HTTP status, the shape the SDK's
// retryer classifies (throttling and 5xx retried, ParameterNotFound not).
type apiError struct {
	status  int
	code    string
	message string
}

var _ smithy.APIError = (*apiError)(nil)

// newAPIError reads the error of SSM's JSON protocol: the code in X-Amzn-ErrorType or the
// body's __type, with any namespace ("com.amazonaws.ssm#") and suffix (":http://...") cut.
func newAPIError(resp *http.Response, body []byte) *apiError {
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Upper   string `json:"Message"`
	}
	_ = json.Unmarshal(body, &e)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = e.Type
	}
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	return &apiError{status: resp.StatusCode, code: code, message: e.Message + e.Upper}
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("SSM GetParameter: %s (HTTP %d)", e.code, e.status)
	if e.message != "" {
		msg += ": " + e.message
	}
	return msg
}

// ErrorCode is SSM's error code (ParameterNotFound, AccessDeniedException, ...).
func (e *apiError) ErrorCode() string { return e.code }

// ErrorMessage is SSM's message.
func (e *apiError) ErrorMessage() string { return e.message }

// ErrorFault says whether SSM (5xx) or the caller (4xx) is at fault.
func (e *apiError) ErrorFault() smithy.ErrorFault {
	if e.status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// HTTPStatusCode is the answer's HTTP status.
func (e *apiError) HTTPStatusCode() int { return e.status }
