package clients

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/shop-serverless/shop/functions/manifest"
)

func TestLoadConfigConcurrentRequests(t *testing.T) {
	for v, want := range map[string]int{"": 1, "1000": 1000} {
		cfg, err := LoadConfig(func(k string) string {
			if k == manifest.EnvConcurrentRequests {
				return v
			}
			return ""
		})
		if err != nil || cfg.ConcurrentRequests != want {
			t.Errorf("%s=%q: %d, %v; want %d", manifest.EnvConcurrentRequests, v, cfg.ConcurrentRequests, err, want)
		}
	}
	for _, bad := range []string{"0", "-1", "many"} {
		if _, err := LoadConfig(func(k string) string {
			if k == manifest.EnvConcurrentRequests {
				return bad
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%q accepted", manifest.EnvConcurrentRequests, bad)
		}
	}
}

// The AWS configuration is Lambda's variables: the region and the execution role's
// credentials, with the SDK defaults the functions rely on kept.
func TestNewReadsLambdasVariables(t *testing.T) {
	vars := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ASIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SESSION_TOKEN": "token",
	}
	env := func(k string) string { return vars[k] }
	cfg, err := LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(context.Background(), cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.AWS.Region != "eu-west-1" {
		t.Errorf("region %q", c.AWS.Region)
	}
	creds, err := c.AWS.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != vars["AWS_ACCESS_KEY_ID"] || creds.SecretAccessKey != vars["AWS_SECRET_ACCESS_KEY"] || creds.SessionToken != "token" {
		t.Errorf("credentials %+v, %v: not Lambda's", creds, err)
	}
	if r := c.AWS.Retryer(); r.MaxAttempts() != RetryMaxAttempts {
		t.Errorf("retryer of %d attempts, want %d", r.MaxAttempts(), RetryMaxAttempts)
	}
	if c.AWS.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenSupported ||
		c.AWS.ResponseChecksumValidation != aws.ResponseChecksumValidationWhenSupported {
		t.Errorf("checksums %v, %v: want the SDK's default, when supported", c.AWS.RequestChecksumCalculation, c.AWS.ResponseChecksumValidation)
	}

	// Without credentials a function that calls no AWS service starts; every call fails.
	delete(vars, "AWS_SECRET_ACCESS_KEY")
	c, err = New(context.Background(), cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AWS.Credentials.Retrieve(context.Background()); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("credentials without the variables: %v, want ErrNoCredentials", err)
	}
}
