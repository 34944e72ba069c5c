package origin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/shop-serverless/shop/functions/internal/api"
)

func served(context.Context, api.Request) (api.Response, error) {
	return api.Response{StatusCode: http.StatusOK, Body: "served"}, nil
}

func TestWrap(t *testing.T) {
	check, err := New("s3cret-value")
	if err != nil {
		t.Fatal(err)
	}
	handle := check.Wrap(served)
	cases := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"the edge's header", map[string]string{"x-shop-origin-verify": "s3cret-value"}, http.StatusOK},
		{"no header", nil, http.StatusForbidden},
		{"empty value", map[string]string{"x-shop-origin-verify": ""}, http.StatusForbidden},
		{"a prefix of the value", map[string]string{"x-shop-origin-verify": "s3cret"}, http.StatusForbidden},
		{"the value and more", map[string]string{"x-shop-origin-verify": "s3cret-value2"}, http.StatusForbidden},
		{"another value", map[string]string{"x-shop-origin-verify": "S3CRET-VALUE"}, http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := handle(context.Background(), api.Request{Headers: c.headers, RouteKey: "GET /products"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if c.want != http.StatusForbidden {
				return
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error.Code != "forbidden" {
				t.Fatalf("body %q is not the contract's forbidden error (%v)", resp.Body, err)
			}
		})
	}
}

func TestNewRefusesEmptySecret(t *testing.T) {
	if _, err := New(""); err == nil {
		t.Fatal("an empty secret would let requests without the header through")
	}
}

type fakeSSM struct {
	in    *ssm.GetParameterInput
	value string
	err   error
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.in = in
	if f.err != nil {
		return nil, f.err
	}
	return &ssm.GetParameterOutput{Parameter: &types.Parameter{Value: aws.String(f.value)}}, nil
}

func TestLoad(t *testing.T) {
	f := &fakeSSM{value: "from-ssm"}
	check, err := Load(context.Background(), f, "/shop-dev/origin-secret")
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(f.in.Name) != "/shop-dev/origin-secret" || !aws.ToBool(f.in.WithDecryption) {
		t.Errorf("GetParameter(%q, decryption %v): want the named parameter, decrypted", aws.ToString(f.in.Name), aws.ToBool(f.in.WithDecryption))
	}
	if !check.Allows(api.Request{Headers: map[string]string{"x-shop-origin-verify": "from-ssm"}}) {
		t.Error("the parameter's value is not the one checked")
	}
	if _, err := Load(context.Background(), &fakeSSM{err: errors.New("AccessDeniedException")}, "/x"); err == nil {
		t.Error("a failed read must fail the start, not turn the check off")
	}
	if _, err := Load(context.Background(), &fakeSSM{value: ""}, "/x"); err == nil {
		t.Error("an empty parameter must fail the start")
	}
}
