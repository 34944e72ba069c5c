// Package datakey declares the stack's customer-managed KMS key for customer data: the
// tables that hold carts, orders and idempotency records, and the log groups (the API's
// access log records addresses and user agents). The key rotates yearly; its policy lets
// the account administer it through IAM, CloudWatch Logs use it for this account's log
// groups in the region, and the account's principals use it through DynamoDB only.
package datakey

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
)

// DataKeyArgs configures a DataKey.
type DataKeyArgs struct {
	// Prefix names the key's alias: "alias/<prefix>-data".
	Prefix string
	// Region is where the tables and log groups are; the key policy names its services.
	Region string
	// DeletionDays is the waiting period before a scheduled deletion; 0: 30.
	DeletionDays int
	// Protect marks the key protect and retain-on-delete: data encrypted with it is
	// unreadable once it is gone.
	Protect bool
	// Tags are added to the key.
	Tags pulumi.StringMapInput
}

// DataKey is the key and its alias.
type DataKey struct {
	pulumi.ResourceState

	// Arn is the key's ARN, what tables and log groups take.
	Arn pulumi.StringOutput `pulumi:"arn"`
	// KeyID is the key's id (a UUID).
	KeyID pulumi.StringOutput `pulumi:"keyId"`
}

// Key actions a service needs to encrypt and decrypt with a key it does not own.
var useActions = []string{
	"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
	"kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
}

// NewDataKey declares the key.
func NewDataKey(ctx *pulumi.Context, name string, args *DataKeyArgs, opts ...pulumi.ResourceOption) (*DataKey, error) {
	if args == nil {
		return nil, fmt.Errorf("data key %q: args are required", name)
	}
	a := *args
	if a.DeletionDays == 0 {
		a.DeletionDays = 30
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("data key %q: %w", name, err)
	}
	k := &DataKey{}
	if err := ctx.RegisterComponentResource("shop:datakey:DataKey", name, k, opts...); err != nil {
		return nil, fmt.Errorf("data key %q: %w", name, err)
	}
	if err := k.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("data key %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(k, pulumi.Map{"arn": k.Arn, "keyId": k.KeyID}); err != nil {
		return nil, fmt.Errorf("data key %q: %w", name, err)
	}
	return k, nil
}

func (k *DataKey) declare(ctx *pulumi.Context, name string, a *DataKeyArgs) error {
	parent := pulumi.Parent(k)
	account := aws.GetCallerIdentityOutput(ctx, aws.GetCallerIdentityOutputArgs{}).AccountId()
	policy := iampolicy.Document(
		iampolicy.AccountAdministersKey(account),
		iampolicy.Statement{
			// CloudWatch Logs names the log group in the encryption context of every call.
			Sid:       "CloudWatchLogsEncryptsAccountLogGroups",
			Principal: map[string][]string{"Service": {"logs." + a.Region + ".amazonaws.com"}},
			Actions:   useActions,
			Resources: iampolicy.Strings("*"),
			Conditions: []iampolicy.Condition{{
				Test: "ArnLike", Variable: "kms:EncryptionContext:aws:logs:arn",
				Values: []pulumi.StringInput{pulumi.Sprintf("arn:aws:logs:%s:%s:log-group:*", a.Region, account)},
			}},
		},
		iampolicy.Statement{
			// As the AWS managed aws/dynamodb key: the account's principals may use the key,
			// but only through DynamoDB in this region (which also creates grants for it).
			Sid:          "AccountUsesKeyThroughDynamoDB",
			AnyPrincipal: true,
			Actions:      append([]string{"kms:CreateGrant"}, useActions...),
			Resources:    iampolicy.Strings("*"),
			Conditions: []iampolicy.Condition{
				{Test: "StringEquals", Variable: "kms:CallerAccount", Values: []pulumi.StringInput{account}},
				{Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings("dynamodb." + a.Region + ".amazonaws.com")},
			},
		},
		iampolicy.Statement{
			Sid:        "DynamoDBDescribesKey",
			Principal:  map[string][]string{"Service": {"dynamodb.amazonaws.com"}},
			Actions:    []string{"kms:DescribeKey"},
			Resources:  iampolicy.Strings("*"),
			Conditions: []iampolicy.Condition{iampolicy.SourceAccount(account)},
		},
	)
	keyOpts := []pulumi.ResourceOption{parent}
	if a.Protect {
		keyOpts = append(keyOpts, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	}
	key, err := kms.NewKey(ctx, name+"-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("%s customer data: tables and log groups", a.Prefix),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(a.DeletionDays),
		Policy:               policy,
		Tags:                 a.Tags,
	}, keyOpts...)
	if err != nil {
		return err
	}
	if _, err := kms.NewAlias(ctx, name+"-alias", &kms.AliasArgs{
		Name:        pulumi.Sprintf("alias/%s-data", a.Prefix),
		TargetKeyId: key.KeyId,
	}, parent); err != nil {
		return err
	}
	k.Arn = key.Arn
	k.KeyID = key.KeyId
	return nil
}

func (a *DataKeyArgs) validate() error {
	var errs []error
	if a.Prefix == "" || a.Region == "" {
		errs = append(errs, errors.New("prefix and region are required"))
	}
	if a.DeletionDays < 7 || a.DeletionDays > 30 {
		errs = append(errs, fmt.Errorf("deletion window %d days must be 7..30", a.DeletionDays))
	}
	return errors.Join(errs...)
}
