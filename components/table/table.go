// Package table declares one DynamoDB table from the shop's shared table definitions
// (functions/tables), the same plain data the local stage creates its tables from.
package table

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/functions/tables"
)

// Billing modes.
const (
	OnDemand    = "PAY_PER_REQUEST"
	Provisioned = "PROVISIONED"
)

// TableArgs configures a Table.
type TableArgs struct {
	// Definition is the shared definition: keys, indexes, TTL attribute and stream.
	Definition tables.Table
	// TableName is the deployed name; empty: "<Definition.Name>".
	TableName string
	// BillingMode is OnDemand (default) or Provisioned.
	BillingMode string
	// ReadCapacity and WriteCapacity apply to the table and every index in Provisioned mode.
	ReadCapacity, WriteCapacity int
	// MaxReadRequestUnits and MaxWriteRequestUnits cap on-demand throughput (and so cost); 0: no cap.
	MaxReadRequestUnits, MaxWriteRequestUnits int
	// PointInTimeRecovery enables continuous backups (35 days).
	PointInTimeRecovery bool
	// DeletionProtection makes DynamoDB refuse to delete the table.
	DeletionProtection bool
	// KMSKeyArn encrypts with a customer managed key; nil: the AWS managed key (aws/dynamodb).
	KMSKeyArn pulumi.StringPtrInput
	// TableClass is STANDARD (default) or STANDARD_INFREQUENT_ACCESS.
	TableClass string
	// Protect marks the table protect and retain-on-delete, so neither `pulumi destroy` nor a
	// replacement can take its data.
	Protect bool
	// Tags are added to the table.
	Tags pulumi.StringMapInput
}

// Table is a DynamoDB table component.
type Table struct {
	pulumi.ResourceState

	// Name is the deployed table name.
	Name pulumi.StringOutput `pulumi:"name"`
	Arn  pulumi.StringOutput `pulumi:"arn"`
	// StreamArn is the stream's ARN; empty when the definition has no stream.
	StreamArn pulumi.StringOutput `pulumi:"streamArn"`
	// IndexArns are the ARNs of the global secondary indexes, in definition order.
	IndexArns pulumi.StringArrayOutput `pulumi:"indexArns"`
	// Definition is the shared definition the table was declared from.
	Definition tables.Table
}

// NewTable declares the table described by args.Definition.
func NewTable(ctx *pulumi.Context, name string, args *TableArgs, opts ...pulumi.ResourceOption) (*Table, error) {
	if args == nil {
		return nil, fmt.Errorf("table %q: args are required", name)
	}
	a := *args
	if a.TableName == "" {
		a.TableName = a.Definition.Name
	}
	if a.BillingMode == "" {
		a.BillingMode = OnDemand
	}
	if a.TableClass == "" {
		a.TableClass = "STANDARD"
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("table %q: %w", name, err)
	}

	t := &Table{Definition: a.Definition}
	if err := ctx.RegisterComponentResource("shop:table:Table", name, t, opts...); err != nil {
		return nil, fmt.Errorf("table %q: %w", name, err)
	}

	d := a.Definition
	var attrs dynamodb.TableAttributeArray
	for _, k := range d.Attributes() {
		attrs = append(attrs, dynamodb.TableAttributeArgs{Name: pulumi.String(k.Name), Type: pulumi.String(string(k.Type))})
	}
	tableArgs := &dynamodb.TableArgs{
		Name:                      pulumi.String(a.TableName),
		BillingMode:               pulumi.String(a.BillingMode),
		HashKey:                   pulumi.String(d.HashKey.Name),
		Attributes:                attrs,
		TableClass:                pulumi.String(a.TableClass),
		DeletionProtectionEnabled: pulumi.Bool(a.DeletionProtection),
		PointInTimeRecovery:       &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(a.PointInTimeRecovery)},
		ServerSideEncryption: &dynamodb.TableServerSideEncryptionArgs{
			// Enabled selects a KMS key (AWS managed unless KMSKeyArn is set) over the AWS owned
			// key, so every use of the key shows in CloudTrail.
			Enabled:   pulumi.Bool(true),
			KmsKeyArn: a.KMSKeyArn,
		},
		Tags: a.Tags,
	}
	if d.RangeKey != nil {
		tableArgs.RangeKey = pulumi.String(d.RangeKey.Name)
	}
	if d.TTLAttribute != "" {
		tableArgs.Ttl = &dynamodb.TableTtlArgs{AttributeName: pulumi.String(d.TTLAttribute), Enabled: pulumi.Bool(true)}
	}
	if d.Stream != tables.NoStream {
		tableArgs.StreamEnabled = pulumi.Bool(true)
		tableArgs.StreamViewType = pulumi.String(string(d.Stream))
	}
	if a.BillingMode == Provisioned {
		tableArgs.ReadCapacity = pulumi.Int(a.ReadCapacity)
		tableArgs.WriteCapacity = pulumi.Int(a.WriteCapacity)
	} else if a.MaxReadRequestUnits > 0 || a.MaxWriteRequestUnits > 0 {
		tableArgs.OnDemandThroughput = &dynamodb.TableOnDemandThroughputArgs{
			MaxReadRequestUnits:  optionalInt(a.MaxReadRequestUnits),
			MaxWriteRequestUnits: optionalInt(a.MaxWriteRequestUnits),
		}
	}
	var gsis dynamodb.TableGlobalSecondaryIndexArray
	for _, ix := range d.Indexes {
		gsi := dynamodb.TableGlobalSecondaryIndexArgs{
			Name:           pulumi.String(ix.Name),
			HashKey:        pulumi.String(ix.HashKey.Name),
			ProjectionType: pulumi.String("ALL"),
		}
		if ix.RangeKey != nil {
			gsi.RangeKey = pulumi.String(ix.RangeKey.Name)
		}
		if a.BillingMode == Provisioned {
			gsi.ReadCapacity = pulumi.Int(a.ReadCapacity)
			gsi.WriteCapacity = pulumi.Int(a.WriteCapacity)
		}
		gsis = append(gsis, gsi)
	}
	if len(gsis) > 0 {
		tableArgs.GlobalSecondaryIndexes = gsis
	}

	childOpts := []pulumi.ResourceOption{pulumi.Parent(t)}
	if a.Protect {
		childOpts = append(childOpts, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	}
	tbl, err := dynamodb.NewTable(ctx, name+"-table", tableArgs, childOpts...)
	if err != nil {
		return nil, fmt.Errorf("table %q: %w", name, err)
	}

	indexArns := pulumi.StringArray{}
	for _, ix := range d.Indexes {
		indexArns = append(indexArns, pulumi.Sprintf("%s/index/%s", tbl.Arn, ix.Name))
	}
	t.Name = tbl.Name
	t.Arn = tbl.Arn
	t.StreamArn = tbl.StreamArn
	t.IndexArns = indexArns.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(t, pulumi.Map{
		"name":      t.Name,
		"arn":       t.Arn,
		"streamArn": t.StreamArn,
		"indexArns": t.IndexArns,
	}); err != nil {
		return nil, fmt.Errorf("table %q: %w", name, err)
	}
	return t, nil
}

func (a *TableArgs) validate() error {
	var errs []error
	if a.Definition.Name == "" || a.Definition.HashKey.Name == "" {
		errs = append(errs, errors.New("definition needs a name and a hash key"))
	}
	if n := len(a.TableName); n < 3 || n > 255 {
		errs = append(errs, fmt.Errorf("table name %q must be 3..255 characters", a.TableName))
	}
	switch a.BillingMode {
	case OnDemand:
		if a.MaxReadRequestUnits < 0 || a.MaxWriteRequestUnits < 0 {
			errs = append(errs, errors.New("on-demand throughput caps must not be negative"))
		}
	case Provisioned:
		if a.ReadCapacity < 1 || a.WriteCapacity < 1 {
			errs = append(errs, errors.New("provisioned mode needs read and write capacity of at least 1"))
		}
	default:
		errs = append(errs, fmt.Errorf("billing mode %q must be %s or %s", a.BillingMode, OnDemand, Provisioned))
	}
	if a.TableClass != "STANDARD" && a.TableClass != "STANDARD_INFREQUENT_ACCESS" {
		errs = append(errs, fmt.Errorf("table class %q must be STANDARD or STANDARD_INFREQUENT_ACCESS", a.TableClass))
	}
	return errors.Join(errs...)
}

func optionalInt(n int) pulumi.IntPtrInput {
	if n <= 0 {
		return nil
	}
	return pulumi.Int(n)
}
