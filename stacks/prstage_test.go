package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/functions/tables"
)

// TestPRStageFromDev runs the stage the pr-stage workflow creates (.github/workflows/
// pr-stage.yml): a stack pr-<n> with dev's settings and shop:protectData false. It must be a
// valid stage that lives beside dev in the same account without a name clash, and one that
// `pulumi destroy` removes entirely: nothing protected or retained, no AWS-side deletion
// protection.
func TestPRStageFromDev(t *testing.T) {
	const stack = "pr-12345"
	cfg, secrets := stackConfig(t, "dev")
	cfg["shop:protectData"] = "false"
	m, out := runWithConfig(t, stack, cfg, secrets)

	for _, r := range m.Resources() {
		if r.Protect || r.RetainOnDelete {
			t.Errorf("%s: protect=%v retainOnDelete=%v: destroy would leave it", r.URN, r.Protect, r.RetainOnDelete)
		}
	}
	for _, r := range m.OfType("aws:dynamodb/table:Table") {
		if r.Inputs["deletionProtectionEnabled"] == true {
			t.Errorf("table %s has deletion protection", r.Name)
		}
	}
	for _, r := range m.OfType("aws:cognito/userPool:UserPool") {
		if r.Inputs["deletionProtection"] == "ACTIVE" {
			t.Errorf("user pool %s has deletion protection", r.Name)
		}
	}
	for _, r := range m.OfType("aws:s3/bucketV2:BucketV2") {
		if v := siblings(m, r, "aws:s3/bucketVersioningV2:BucketVersioningV2"); len(v) == 1 &&
			get(v[0].Inputs, "versioningConfiguration", "status") == "Enabled" {
			// The workflow empties the bucket with `aws s3 rm --recursive`, which leaves
			// noncurrent versions behind.
			t.Errorf("bucket %s is versioned: the stage's destroy could not empty it", r.Name)
		}
	}

	// Physical names carry the stage, so the stage and dev do not collide.
	if g := graph(t, m); bytes.Contains(g, []byte("shop-dev")) {
		t.Error(`the stage's graph names a "shop-dev" resource`)
	}
	for _, def := range tables.All {
		if out[def.Name+"Table"] != "shop-"+stack+"-"+def.Name {
			t.Errorf("export %sTable = %v", def.Name, out[def.Name+"Table"])
		}
	}
	// ElastiCache ids are at most 40 characters; a five-digit PR number must fit.
	for _, r := range m.OfType("aws:elasticache/replicationGroup:ReplicationGroup") {
		if id, _ := r.Inputs["replicationGroupId"].(string); len(id) > 40 || !strings.Contains(id, stack) {
			t.Errorf("replication group id %q", id)
		}
	}
}
