package stage

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/local/s3proxy"
)

// shape lists the JSON paths of v: "Records[].s3.object.key", ...
func shape(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			shape(prefix+"."+k, x, out)
		}
	case []any:
		for _, x := range v {
			shape(prefix+"[]", x, out)
		}
	default:
		out[prefix] = true
	}
}

func paths(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	shape("", v, set)
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// The stage's object-created events have exactly the fields of a real S3 notification, and
// decode to what the checker reads.
func TestObjectCreatedEventIsShapedLikeS3s(t *testing.T) {
	real, err := os.ReadFile("testdata/s3-event-object-created.json")
	if err != nil {
		t.Fatal(err)
	}
	obj := s3proxy.Object{Bucket: bucket, Key: "uploads/p-1/a b+c.png", Size: 42, ETag: `"d41d8cd98f00b204e9800998ecf8427e"`, Event: "ObjectCreated:Post"}
	local, err := objectCreatedJSON(obj, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(t, local), paths(t, real); !reflect.DeepEqual(got, want) {
		t.Errorf("local event fields\n%v\nreal event fields\n%v", got, want)
	}
	ev, err := objectCreatedEvent(obj, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec := ev.Records[0]
	if rec.EventName != "ObjectCreated:Post" || rec.S3.Bucket.Name != bucket || rec.S3.Object.URLDecodedKey != obj.Key ||
		rec.S3.Object.Key != "uploads/p-1/a+b%2Bc.png" || rec.S3.Object.ETag != "d41d8cd98f00b204e9800998ecf8427e" || rec.S3.Object.Size != 42 {
		t.Errorf("decoded %+v", rec)
	}
}
