// Package iampolicy renders IAM policy documents from Pulumi inputs as the deterministic JSON
// AWS receives: fields in AWS's order, statements in the given order, no invoke needed. Graph
// snapshots can therefore show the exact document, and the same inputs always render the same
// bytes.
package iampolicy

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Version is the IAM policy language version.
const Version = "2012-10-17"

// Statement is one policy statement. Resources and condition values may be outputs of other
// resources.
type Statement struct {
	Sid string
	// Effect is "Allow" or "Deny"; empty means "Allow".
	Effect string
	// Principal is for resource and trust policies: {"Service": ["lambda.amazonaws.com"]}.
	// AnyPrincipal renders "Principal": "*".
	Principal    map[string][]string
	AnyPrincipal bool
	// AWSPrincipals are added to Principal["AWS"]; they may be outputs (an account's root).
	AWSPrincipals []pulumi.StringInput
	Actions       []string
	Resources     []pulumi.StringInput
	Conditions    []Condition
}

// Condition is one condition test: {Test: {Variable: Values}}.
type Condition struct {
	Test     string
	Variable string
	Values   []pulumi.StringInput
}

// Document renders the statements as a policy document.
func Document(statements ...Statement) pulumi.StringOutput {
	// Flatten every input into one pulumi.All so the document resolves once all are known,
	// then put the values back by position.
	var inputs []any
	for _, s := range statements {
		for _, p := range s.AWSPrincipals {
			inputs = append(inputs, p)
		}
		for _, r := range s.Resources {
			inputs = append(inputs, r)
		}
		for _, c := range s.Conditions {
			for _, v := range c.Values {
				inputs = append(inputs, v)
			}
		}
	}
	return pulumi.All(inputs...).ApplyT(func(vals []any) (string, error) {
		next := func() string {
			s, _ := vals[0].(string)
			vals = vals[1:]
			return s
		}
		doc := document{Version: Version}
		for _, s := range statements {
			st := statement{Sid: s.Sid, Effect: s.Effect, Action: s.Actions}
			if st.Effect == "" {
				st.Effect = "Allow"
			}
			principal := map[string][]string{}
			for k, v := range s.Principal {
				principal[k] = append([]string(nil), v...)
			}
			for range s.AWSPrincipals {
				principal["AWS"] = append(principal["AWS"], next())
			}
			switch {
			case s.AnyPrincipal:
				st.Principal = "*"
			case len(principal) > 0:
				st.Principal = principal
			}
			for range s.Resources {
				st.Resource = append(st.Resource, next())
			}
			for _, c := range s.Conditions {
				if st.Condition == nil {
					st.Condition = map[string]map[string][]string{}
				}
				if st.Condition[c.Test] == nil {
					st.Condition[c.Test] = map[string][]string{}
				}
				for range c.Values {
					st.Condition[c.Test][c.Variable] = append(st.Condition[c.Test][c.Variable], next())
				}
			}
			doc.Statement = append(doc.Statement, st)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return "", fmt.Errorf("policy document: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}

// Strings converts plain strings to inputs, for Resources and condition Values.
func Strings(ss ...string) []pulumi.StringInput {
	out := make([]pulumi.StringInput, len(ss))
	for i, s := range ss {
		out[i] = pulumi.String(s)
	}
	return out
}

// AssumeRole renders a trust policy that lets exactly one AWS service assume the role, on
// the conditions given (see SourceAccount and SourceArnLike: without them any account's use
// of the service could act through the role, the confused deputy).
func AssumeRole(service string, conditions ...Condition) pulumi.StringOutput {
	return Document(Statement{
		Principal:  map[string][]string{"Service": {service}},
		Actions:    []string{"sts:AssumeRole"},
		Conditions: conditions,
	})
}

// AccountAdministersKey is the statement of KMS's default key policy: the account
// administers the key through IAM. Without it a key would be unmanageable.
func AccountAdministersKey(account pulumi.StringInput) Statement {
	return Statement{
		Sid:           "AccountAdministersKeyThroughIAM",
		AWSPrincipals: []pulumi.StringInput{pulumi.Sprintf("arn:aws:iam::%s:root", account)},
		Actions:       []string{"kms:*"},
		Resources:     Strings("*"),
	}
}

// SourceAccount is the condition that a service acts for resources of this account.
func SourceAccount(account pulumi.StringInput) Condition {
	return Condition{Test: "StringEquals", Variable: "aws:SourceAccount", Values: []pulumi.StringInput{account}}
}

// SourceArnLike is the condition that a service acts for a resource matching arn.
func SourceArnLike(arn pulumi.StringInput) Condition {
	return Condition{Test: "ArnLike", Variable: "aws:SourceArn", Values: []pulumi.StringInput{arn}}
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                         `json:"Sid,omitempty"`
	Effect    string                         `json:"Effect"`
	Principal any                            `json:"Principal,omitempty"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource,omitempty"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}
