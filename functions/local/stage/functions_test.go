package stage

import (
	"slices"
	"testing"

	"github.com/shop-serverless/shop/functions/manifest"
)

// The stage serves every function the API invokes and no other: a function added to the
// manifest without its code here would leave its routes unserved locally.
func TestStageBuildsEveryHTTPFunction(t *testing.T) {
	var declared, built []string
	for _, f := range manifest.Functions {
		if !f.Invoked() {
			declared = append(declared, f.Name)
		}
	}
	for name := range httpFunctions {
		built = append(built, name)
	}
	slices.Sort(declared)
	slices.Sort(built)
	if !slices.Equal(declared, built) {
		t.Errorf("the stage builds %v, the manifest's HTTP functions are %v", built, declared)
	}
}
