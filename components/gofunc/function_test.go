package gofunc_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/routes"
	"github.com/shop-serverless/shop/functions/tables"
)

type policyDoc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal map[string][]string
		Action    []string
		Resource  []string
	}
}

func tableArn(name string) string {
	return "arn:aws:dynamodb:eu-central-1:123456789012:table/shop-test-" + name
}

// argsFor wires a spec the way the program does, with fixed ARNs.
func argsFor(spec routes.Function) *gofunc.FunctionArgs {
	a := &gofunc.FunctionArgs{
		Spec:             spec,
		FunctionName:     "shop-test-" + spec.Name,
		Archive:          "/repo/.build/functions/" + spec.Name + ".zip",
		LogRetentionDays: 14,
		Tables:           map[string]gofunc.TableRef{},
		Environment:      pulumi.StringMap{"LOG_LEVEL": pulumi.String("info")},
	}
	for _, t := range tables.All {
		a.Tables[t.Name] = gofunc.TableRef{Arn: pulumi.String(tableArn(t.Name))}
	}
	if spec.Bucket != "" {
		a.BucketArn = pulumi.String("arn:aws:s3:::images")
		a.BucketName = pulumi.String("images")
	}
	if spec.Cache {
		a.Cache = &gofunc.CacheRef{
			Arn:     pulumi.String("arn:aws:elasticache:eu-central-1:123456789012:replicationgroup:shop-test-cache"),
			UserArn: pulumi.String("arn:aws:elasticache:eu-central-1:123456789012:user:shop-test-cache-app"),
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
	for _, spec := range routes.Functions {
		t.Run(spec.Name, func(t *testing.T) {
			m := awsmock.New("shop", "test")
			if err := m.Run(func(ctx *pulumi.Context) error {
				_, err := gofunc.NewFunction(ctx, spec.Name, argsFor(spec))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			comp, ok := m.Named("shop:gofunc:Function", spec.Name)
			if !ok {
				t.Fatal("component not registered")
			}
			for _, r := range m.Resources() {
				if r.Custom && (r.Parent != comp.URN || !strings.HasPrefix(r.Name, spec.Name+"-")) {
					t.Errorf("%s: parent %q", r.Name, r.Parent)
				}
			}

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
			if _, hasVPC := in["vpcConfig"]; hasVPC != spec.Cache {
				t.Errorf("vpcConfig present = %v, cache = %v", hasVPC, spec.Cache)
			}
			if _, reserved := in["reservedConcurrentExecutions"]; reserved {
				t.Error("reserved concurrency set without being asked")
			}
			lg, _ := m.Named("aws:cloudwatch/logGroup:LogGroup", spec.Name+"-logs")
			if lg.Inputs["retentionInDays"] != 14.0 {
				t.Errorf("log retention = %v", lg.Inputs["retentionInDays"])
			}

			role, _ := m.Named("aws:iam/role:Role", spec.Name+"-role")
			var trust policyDoc
			mustUnmarshal(t, role.Inputs["assumeRolePolicy"], &trust)
			if len(trust.Statement) != 1 || !slices.Equal(trust.Statement[0].Principal["Service"], []string{"lambda.amazonaws.com"}) {
				t.Errorf("trust = %+v", trust)
			}

			pol, _ := m.Named("aws:iam/rolePolicy:RolePolicy", spec.Name+"-policy")
			var doc policyDoc
			mustUnmarshal(t, pol.Inputs["policy"], &doc)
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
							if !slices.Contains(gofunc.UnscopableActions, a) {
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
					target["filterPrefix"] != routes.UploadPrefix || !slices.Equal(target["events"].([]any), []any{"s3:ObjectCreated:*"}) {
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
				if e["eventSourceArn"] != tableArn(spec.StreamOf.Name)+"/stream/*" || e["startingPosition"] != "LATEST" || e["bisectBatchOnFunctionError"] != true {
					t.Errorf("event source mapping = %v", e)
				}
			}
		})
	}
}

// expectedGrants is the policy written out by hand from the spec, independently of
// gofunc.Statements.
func expectedGrants(spec routes.Function) map[string][]string {
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
	for _, ta := range spec.Tables {
		read := []string{tableArn(ta.Table.Name)}
		for _, ix := range ta.Table.Indexes {
			read = append(read, tableArn(ta.Table.Name)+"/index/"+ix.Name)
		}
		add([]string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"}, read...)
		if ta.Access == routes.ReadWrite {
			add([]string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, tableArn(ta.Table.Name))
		}
	}
	if spec.StreamOf != nil {
		add([]string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}, tableArn(spec.StreamOf.Name)+"/stream/*")
	}
	switch spec.Bucket {
	case routes.Read:
		add([]string{"s3:GetObject"}, "arn:aws:s3:::images/*")
	case routes.ReadWrite:
		add([]string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, "arn:aws:s3:::images/*")
	}
	if spec.Cache {
		add([]string{"elasticache:Connect"},
			"arn:aws:elasticache:eu-central-1:123456789012:replicationgroup:shop-test-cache",
			"arn:aws:elasticache:eu-central-1:123456789012:user:shop-test-cache-app")
		add([]string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}, "*")
	}
	return want
}

func TestFunctionOptions(t *testing.T) {
	spec, _ := routes.FunctionByName(routes.Orders)
	a := argsFor(spec)
	a.MemoryMB, a.TimeoutSeconds, a.ReservedConcurrency, a.LogLevel = 1024, 20, 50, "WARN"
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
	if fn.Inputs["loggingConfig"].(map[string]any)["applicationLogLevel"] != "WARN" || timeout != 20 {
		t.Errorf("loggingConfig = %v, timeout %d", fn.Inputs["loggingConfig"], timeout)
	}
}

func TestFunctionValidation(t *testing.T) {
	catalog, _ := routes.FunctionByName(routes.Catalog)
	admin, _ := routes.FunctionByName(routes.CatalogAdmin)
	tests := []struct {
		name   string
		spec   routes.Function
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

func mustUnmarshal(t *testing.T, v any, out any) {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("policy is %T, want a JSON string", v)
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}
