package hosting

import _ "embed"

// ViewerRequestFunction is the CloudFront Function (runtime FunctionRuntime) that applies
// Route to every viewer request.
//
//go:embed viewer-request.js
var ViewerRequestFunction string

// FunctionRuntime is the CloudFront Functions runtime ViewerRequestFunction is written for.
const FunctionRuntime = "cloudfront-js-2.0"
