// CloudFront Function (cloudfront-js-2.0) on viewer requests: the storefront's SPA routing.
// A page path (its last segment has no extension) is answered by /index.html; any other path
// goes to S3 as is, so a missing asset stays a 404. hosting.Route is the same rule in Go;
// testdata/routes.json holds the cases both are tested against.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
