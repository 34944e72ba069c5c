package datakey_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/datakey"
)

func TestDataKey(t *testing.T) {
	m := awsmock.New("shop", "test")
	var arn string
	if err := m.Run(func(ctx *pulumi.Context) error {
		k, err := datakey.NewDataKey(ctx, "data", &datakey.DataKeyArgs{Prefix: "shop-test", Region: "eu-central-1", Protect: true})
		if err != nil {
			return err
		}
		awsmock.Capture(ctx, "arn", k.Arn, &arn)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	key, _ := m.Named("aws:kms/key:Key", "data-key")
	if key.Inputs["enableKeyRotation"] != true || key.Inputs["deletionWindowInDays"] != 30.0 || !key.Protect || !key.RetainOnDelete {
		t.Errorf("key = %v protect=%v", key.Inputs, key.Protect)
	}
	if arn != key.Outputs["arn"] {
		t.Errorf("Arn = %q, want the key's %v", arn, key.Outputs["arn"])
	}
	alias, _ := m.Named("aws:kms/alias:Alias", "data-alias")
	if alias.Inputs["name"] != "alias/shop-test-data" || alias.Inputs["targetKeyId"] != key.ID {
		t.Errorf("alias = %v", alias.Inputs)
	}

	p := awsmock.ParsePolicy(t, key.Inputs["policy"])
	bySid := map[string]int{}
	for i, st := range p.Statement {
		bySid[st.Sid] = i
		if st.Effect != "Allow" {
			t.Errorf("%s: %s", st.Sid, st.Effect)
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") && st.Sid != "AccountAdministersKeyThroughIAM" {
				t.Errorf("%s: wildcard action %s", st.Sid, a)
			}
		}
	}
	logs := p.Statement[bySid["CloudWatchLogsEncryptsAccountLogGroups"]]
	if b, _ := json.Marshal(logs.Principal); string(b) != `{"Service":["logs.eu-central-1.amazonaws.com"]}` ||
		!slices.Equal(logs.Condition["ArnLike"]["kms:EncryptionContext:aws:logs:arn"], []string{"arn:aws:logs:eu-central-1:123456789012:log-group:*"}) {
		t.Errorf("logs statement = %+v", logs)
	}
	dynamo := p.Statement[bySid["AccountUsesKeyThroughDynamoDB"]]
	if !slices.Equal(dynamo.Condition["StringEquals"]["kms:CallerAccount"], []string{"123456789012"}) ||
		!slices.Equal(dynamo.Condition["StringEquals"]["kms:ViaService"], []string{"dynamodb.eu-central-1.amazonaws.com"}) ||
		!slices.Contains(dynamo.Action, "kms:CreateGrant") {
		t.Errorf("DynamoDB statement = %+v", dynamo)
	}
	admin := p.Statement[bySid["AccountAdministersKeyThroughIAM"]]
	if b, _ := json.Marshal(admin.Principal); string(b) != `{"AWS":["arn:aws:iam::123456789012:root"]}` {
		t.Errorf("admin statement = %+v", admin)
	}
}

func TestDataKeyValidation(t *testing.T) {
	for name, args := range map[string]datakey.DataKeyArgs{
		"no region":      {Prefix: "shop-test"},
		"short deletion": {Prefix: "shop-test", Region: "eu-central-1", DeletionDays: 3},
	} {
		t.Run(name, func(t *testing.T) {
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := datakey.NewDataKey(ctx, "data", &args)
				return err
			})
			if err == nil {
				t.Error("no error")
			}
		})
	}
}
