import cf from 'cloudfront';

// CloudFront Function (cloudfront-js-2.0) on viewer responses: the storefront's
// Content-Security-Policy, read from the distribution's key value store, where the stack puts
// hosting.Security's policy once the API, images and sign-in origins exist (the distribution
// cannot wait for them: the API's CORS rule waits for the distribution's domain). When the
// store cannot answer, the page gets a policy that allows the site alone: it fails closed.
const kvs = cf.kvs();
const FALLBACK = "default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

async function handler(event) {
  const response = event.response;
  let policy = FALLBACK;
  try {
    policy = await kvs.get('content-security-policy');
  } catch (err) {
    // A missing key or an unreachable store: keep the fallback.
  }
  response.headers['content-security-policy'] = { value: policy };
  return response;
}
