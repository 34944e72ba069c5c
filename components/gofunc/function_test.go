package gofunc_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

func tableArn(name string) string {
	return "arn:aws:dynamodb:eu-central-1:123456789012:table/shop-test-" + name
}

// streamArn is a table's current stream as DynamoDB names it: the table's ARN and the label.
func streamArn(name string) string {
	return tableArn(name) + "/stream/2024-01-01T00:00:00.000"
}

// argsFor wires a spec the way the program does, with fixed ARNs.
func argsFor(spec manifest.Function) *gofunc.FunctionArgs {
	a := &gofunc.FunctionArgs{
		Spec:             spec,
		FunctionName:     "shop-test-" + spec.Name,
		Archive:          "/repo/.build/functions/" + spec.Name + ".zip",
		LogRetentionDays: 14,
		Tables:           map[string]gofunc.TableRef{},
		Environment:      pulumi.StringMap{"LOG_LEVEL": pulumi.String("info")},
	}
	for _, t := range tables.All {
		a.Tables[t.Name] = gofunc.TableRef{Arn: pulumi.String(tableArn(t.Name)), Stream: pulumi.String(streamArn(t.Name))}
	}
	if len(spec.Bucket) > 0 {
		a.BucketArn = pulumi.String("arn:aws:s3:::images")
		a.BucketName = pulumi.String("images")
	}
	if spec.UsesCache() {
		a.Cache = &gofunc.CacheRef{
			Arn: pulumi.String("arn:aws:elasticache:eu-central-1:123456789012:replicationgroup:shop-test-cache"),
		}
		if spec.Cache != nil {
			a.Cache.UserArn = pulumi.String("arn:aws:elasticache:eu-central-1:123456789012:user:shop-test-cache-" + spec.Name)
		}
		if spec.LimiterAccess() != nil {
			a.Cache.LimiterUserArn = pulumi.String("arn:aws:elasticache:eu-central-1:123456789012:user:shop-test-cache-" + spec.LimiterUser())
		}
		a.VPC = &gofunc.VPCConfig{
			SubnetIDs:        pulumi.ToStringArray([]string{"subnet-a", "subnet-b"}),
			SecurityGroupIDs: pulumi.ToStringArray([]string{"sg-functions"}),
		}
	}
	return a
}

// TestFunction runs every function of the shop through the component and checks that its role
// allows exactly what its spec says.
func TestFunction(t *testing.T) {
	for _, spec := range manifest.Functions {
		t.Run(spec.Name, func(t *testing.T) {
			m := awsmock.New("shop", "test")
			if err := m.Run(func(ctx *pulumi.Context) error {
				_, err := gofunc.NewFunction(ctx, spec.Name, argsFor(spec))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			m.CheckChildren(t, "shop:gofunc:Function", spec.Name)

			fn, _ := m.Named("aws:lambda/function:Function", spec.Name+"-function")
			in := fn.Inputs
			for k, v := range map[string]any{
				"runtime": "provided.al2023", "handler": "bootstrap", "memorySize": 256.0, "timeout": 10.0,
				"name": "shop-test-" + spec.Name,
			} {
				if in[k] != v {
					t.Errorf("%s = %v, want %v", k, in[k], v)
				}
			}
			if a := in["architectures"].([]any); len(a) != 1 || a[0] != "arm64" {
				t.Errorf("architectures = %v", a)
			}
			if code := in["code"].(map[string]any)["archive"]; code != "/repo/.build/functions/"+spec.Name+".zip" {
				t.Errorf("code = %v", code)
			}
			if in["tracingConfig"].(map[string]any)["mode"] != "Active" {
				t.Error("tracing not active")
			}
			logging := in["loggingConfig"].(map[string]any)
			if logging["logFormat"] != "JSON" || logging["logGroup"] != "/aws/lambda/shop-test-"+spec.Name {
				t.Errorf("loggingConfig = %v", logging)
			}
			if _, hasVPC := in["vpcConfig"]; hasVPC != spec.UsesCache() {
				t.Errorf("vpcConfig present = %v, uses the cache = %v", hasVPC, spec.UsesCache())
			}
			if _, reserved := in["reservedConcurrentExecutions"]; reserved {
				t.Error("reserved concurrency set without being asked")
			}
			lg, _ := m.Named("aws:cloudwatch/logGroup:LogGroup", spec.Name+"-logs")
			if lg.Inputs["retentionInDays"] != 14.0 {
				t.Errorf("log retention = %v", lg.Inputs["retentionInDays"])
			}

			role, _ := m.Named("aws:iam/role:Role", spec.Name+"-role")
			trust := awsmock.ParsePolicy(t, role.Inputs["assumeRolePolicy"])
			if len(trust.Statement) != 1 || !slices.Equal(trust.Statement[0].Principals("Service"), []string{"lambda.amazonaws.com"}) ||
				!slices.Equal(trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"], []string{"123456789012"}) {
				t.Errorf("trust = %+v", trust)
			}

			pol, _ := m.Named("aws:iam/rolePolicy:RolePolicy", spec.Name+"-policy")
			doc := awsmock.ParsePolicy(t, pol.Inputs["policy"])
			granted := map[string][]string{} // action -> resources
			for _, st := range doc.Statement {
				if st.Effect != "Allow" {
					t.Errorf("statement %s: effect %s", st.Sid, st.Effect)
				}
				for _, a := range st.Action {
					if strings.Contains(a, "*") {
						t.Errorf("wildcard action %s", a)
					}
					granted[a] = append(granted[a], st.Resource...)
				}
				for _, r := range st.Resource {
					if r == "*" {
						for _, a := range st.Action {
							if !slices.Contains(gofunc.UnscopableActions, a) && !slices.Contains(gofunc.VPCInterfaceActions, a) {
								t.Errorf("%s on * but it can be scoped", a)
							}
						}
					}
				}
			}
			want := expectedGrants(spec)
			for action, resources := range want {
				got := granted[action]
				slices.Sort(got)
				slices.Sort(resources)
				if !slices.Equal(got, resources) {
					t.Errorf("%s on %v, want %v", action, got, resources)
				}
			}
			for action := range granted {
				if _, ok := want[action]; !ok {
					t.Errorf("%s granted but the spec does not use it", action)
				}
			}

			esm := m.OfType("aws:lambda/eventSourceMapping:EventSourceMapping")
			if (len(esm) == 1) != (spec.StreamOf != nil) {
				t.Fatalf("%d event source mappings", len(esm))
			}
			notifications := m.OfType("aws:s3/bucketNotification:BucketNotification")
			permissions := m.OfType("aws:lambda/permission:Permission")
			if (len(notifications) == 1) != spec.UploadsOf || len(permissions) != len(notifications) {
				t.Fatalf("%d bucket notifications, %d permissions", len(notifications), len(permissions))
			}
			if spec.UploadsOf {
				n := notifications[0].Inputs
				fns, _ := n["lambdaFunctions"].([]any)
				if n["bucket"] != "images" || len(fns) != 1 {
					t.Fatalf("notification = %v", n)
				}
				target := fns[0].(map[string]any)
				if target["lambdaFunctionArn"] != "arn:aws:lambda:eu-central-1:123456789012:function:shop-test-"+spec.Name ||
					target["filterPrefix"] != manifest.UploadPrefix || !slices.Equal(target["events"].([]any), []any{"s3:ObjectCreated:*"}) {
					t.Errorf("notification target = %v", target)
				}
				p := permissions[0].Inputs
				if p["principal"] != "s3.amazonaws.com" || p["sourceArn"] != "arn:aws:s3:::images" || p["sourceAccount"] != "123456789012" ||
					p["action"] != "lambda:InvokeFunction" || p["function"] != "shop-test-"+spec.Name {
					t.Errorf("permission = %v", p)
				}
			}
			if spec.StreamOf != nil {
				e := esm[0].Inputs
				// Lambda needs the one stream it reads, not the policy's pattern of all of them.
				if e["eventSourceArn"] != streamArn(spec.StreamOf.Name) || e["startingPosition"] != "LATEST" || e["bisectBatchOnFunctionError"] != true {
					t.Errorf("event source mapping = %v", e)
				}
				checkFailureQueue(t, m, spec, e)
			}
		})
	}
}

// checkFailureQueue: a batch that fails every retry goes to an encrypted queue that keeps it
// 14 days, and the function's role may send there and do nothing else with it.
func checkFailureQueue(t *testing.T, m *awsmock.Mocks, spec manifest.Function, mapping map[string]any) {
	t.Helper()
	queue, ok := m.Named("aws:sqs/queue:Queue", spec.Name+"-failures")
	if !ok {
		t.Fatal("no failure queue")
	}
	if queue.Inputs["sqsManagedSseEnabled"] != true || queue.Inputs["messageRetentionSeconds"] != 1209600.0 ||
		queue.Inputs["name"] != "shop-test-"+spec.Name+"-failures" {
		t.Errorf("failure queue = %v", queue.Inputs)
	}
	dest, _ := mapping["destinationConfig"].(map[string]any)
	onFailure, _ := dest["onFailure"].(map[string]any)
	if onFailure["destinationArn"] != queue.Outputs["arn"] {
		t.Errorf("on-failure destination %v, want the queue %v", onFailure, queue.Outputs["arn"])
	}
	send, _ := m.Named("aws:iam/rolePolicy:RolePolicy", spec.Name+"-failures-send")
	role, _ := m.Named("aws:iam/role:Role", spec.Name+"-role")
	doc := awsmock.ParsePolicy(t, send.Inputs["policy"])
	if send.Inputs["role"] != role.ID || len(doc.Statement) != 1 || !slices.Equal(doc.Statement[0].Action, []string{"sqs:SendMessage"}) ||
		!slices.Equal(doc.Statement[0].Resource, []string{queue.Outputs["arn"].(string)}) {
		t.Errorf("send grant = %v on role %v", send.Inputs["policy"], send.Inputs["role"])
	}
	qp, _ := m.Named("aws:sqs/queuePolicy:QueuePolicy", spec.Name+"-failures-policy")
	if qp.Inputs["queueUrl"] != queue.ID || !strings.Contains(qp.Inputs["policy"].(string), `"aws:SecureTransport":["false"]`) {
		t.Errorf("queue policy = %v", qp.Inputs)
	}
}

// expectedGrants is the policy written out by hand from the spec, independently of
// gofunc.Statements.
func expectedGrants(spec manifest.Function) map[string][]string {
	want := map[string][]string{
		"logs:CreateLogStream":     {"arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/shop-test-" + spec.Name + ":*"},
		"logs:PutLogEvents":        {"arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/shop-test-" + spec.Name + ":*"},
		"xray:PutTraceSegments":    {"*"},
		"xray:PutTelemetryRecords": {"*"},
	}
	add := func(actions []string, resources ...string) {
		for _, a := range actions {
			want[a] = append(want[a], resources...)
		}
	}
	for _, g := range spec.Tables {
		resource := tableArn(g.Table.Name)
		if g.Index != "" {
			resource += "/index/" + g.Index
		}
		for _, a := range g.Actions {
			add([]string{string(a)}, resource)
		}
	}
	if spec.StreamOf != nil {
		add([]string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}, tableArn(spec.StreamOf.Name)+"/stream/*")
	}
	for _, g := range spec.Bucket {
		for _, a := range g.Actions {
			add([]string{string(a)}, "arn:aws:s3:::images/"+g.Prefix+"*")
		}
	}
	if spec.UsesCache() {
		// The cache, the function's own user and its limiter's, each only where it has one.
		add([]string{"elasticache:Connect"}, "arn:aws:elasticache:eu-central-1:123456789012:replicationgroup:shop-test-cache")
		if spec.Cache != nil {
			add([]string{"elasticache:Connect"}, "arn:aws:elasticache:eu-central-1:123456789012:user:shop-test-cache-"+spec.Name)
		}
		if spec.LimiterAccess() != nil {
			add([]string{"elasticache:Connect"}, "arn:aws:elasticache:eu-central-1:123456789012:user:shop-test-cache-"+spec.LimiterUser())
		}
		add([]string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}, "*")
	}
	return want
}

// The orders function's only product write is checkout's stock decrement: its UpdateItem is
// allowed only for requests naming the stock, the key and the price and currency its
// condition checks, and returning nothing else; its other product grant is a read. The
// catalog admin writes images only under products/.
func TestGrantConditions(t *testing.T) {
	policyOf := func(name string) awsmock.Policy {
		spec, _ := manifest.FunctionByName(name)
		m := awsmock.New("shop", "test")
		if err := m.Run(func(ctx *pulumi.Context) error {
			_, err := gofunc.NewFunction(ctx, name, argsFor(spec))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		pol, _ := m.Named("aws:iam/rolePolicy:RolePolicy", name+"-policy")
		doc := awsmock.ParsePolicy(t, pol.Inputs["policy"])
		return doc
	}
	var update, other []string
	for _, st := range policyOf(manifest.Orders).Statement {
		if !slices.Contains(st.Resource, tableArn("products")) {
			continue
		}
		if slices.Contains(st.Action, "dynamodb:UpdateItem") {
			update = append(update, st.Sid)
			attrs := st.Condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]
			ret := st.Condition["StringEqualsIfExists"]["dynamodb:ReturnValues"]
			if !slices.Equal(st.Action, []string{"dynamodb:UpdateItem"}) ||
				!slices.Equal(attrs, []string{"productId", "stock", "price", "currency"}) ||
				!slices.Equal(ret, []string{"NONE", "UPDATED_OLD", "UPDATED_NEW"}) {
				t.Errorf("orders' stock update: %+v", st)
			}
		} else {
			other = append(other, st.Action...)
		}
	}
	// A sharded line checks the shards' copy of the price, not the product item.
	if len(update) != 1 || !slices.Equal(other, []string{"dynamodb:BatchGetItem"}) {
		t.Errorf("orders on products: update statements %v, other actions %v", update, other)
	}
	for _, st := range policyOf(manifest.CatalogAdmin).Statement {
		for _, r := range st.Resource {
			if strings.HasPrefix(r, "arn:aws:s3:::images") && ((r != "arn:aws:s3:::images/products/*" && r != "arn:aws:s3:::images/uploads/*") || !slices.Equal(st.Action, []string{"s3:PutObject"})) {
				t.Errorf("catalogadmin on the bucket: %v on %s", st.Action, r)
			}
		}
	}
}

func TestFunctionOptions(t *testing.T) {
	spec, _ := manifest.FunctionByName(manifest.Orders)
	a := argsFor(spec)
	a.MemoryMB, a.TimeoutSeconds, a.ReservedConcurrency, a.LogLevel = 1024, 20, 50, "WARN"
	const key = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	a.LogKMSKeyArn = pulumi.String(key)
	m := awsmock.New("shop", "test")
	var timeout int
	if err := m.Run(func(ctx *pulumi.Context) error {
		f, err := gofunc.NewFunction(ctx, "orders", a)
		if err == nil {
			timeout = f.TimeoutSeconds
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	fn, _ := m.Named("aws:lambda/function:Function", "orders-function")
	for k, v := range map[string]any{"memorySize": 1024.0, "timeout": 20.0, "reservedConcurrentExecutions": 50.0} {
		if fn.Inputs[k] != v {
			t.Errorf("%s = %v, want %v", k, fn.Inputs[k], v)
		}
	}
	if lg, _ := m.Named("aws:cloudwatch/logGroup:LogGroup", "orders-logs"); lg.Inputs["kmsKeyId"] != key {
		t.Errorf("log group key = %v", lg.Inputs["kmsKeyId"])
	}
	if fn.Inputs["loggingConfig"].(map[string]any)["applicationLogLevel"] != "WARN" || timeout != 20 {
		t.Errorf("loggingConfig = %v, timeout %d", fn.Inputs["loggingConfig"], timeout)
	}
}

func TestFunctionValidation(t *testing.T) {
	catalog, _ := manifest.FunctionByName(manifest.Catalog)
	admin, _ := manifest.FunctionByName(manifest.CatalogAdmin)
	invalidator, _ := manifest.FunctionByName(manifest.Invalidator)
	tests := []struct {
		name   string
		spec   manifest.Function
		mutate func(a *gofunc.FunctionArgs)
		want   string
	}{
		{"no archive", catalog, func(a *gofunc.FunctionArgs) { a.Archive = "" }, "archive"},
		{"memory", catalog, func(a *gofunc.FunctionArgs) { a.MemoryMB = 64 }, "memory"},
		{"timeout", catalog, func(a *gofunc.FunctionArgs) { a.TimeoutSeconds = 901 }, "timeout"},
		{"retention", catalog, func(a *gofunc.FunctionArgs) { a.LogRetentionDays = 0 }, "retention"},
		{"log level", catalog, func(a *gofunc.FunctionArgs) { a.LogLevel = "loud" }, "log level"},
		{"missing table", catalog, func(a *gofunc.FunctionArgs) { delete(a.Tables, "products") }, `table "products"`},
		{"missing bucket", admin, func(a *gofunc.FunctionArgs) { a.BucketArn = nil }, "BucketArn"},
		{"missing cache", catalog, func(a *gofunc.FunctionArgs) { a.VPC = nil }, "cache access"},
		{"missing stream", invalidator, func(a *gofunc.FunctionArgs) {
			a.Tables["products"] = gofunc.TableRef{Arn: pulumi.String(tableArn("products"))}
		}, "stream ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := argsFor(tt.spec)
			tt.mutate(a)
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := gofunc.NewFunction(ctx, tt.spec.Name, a)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
