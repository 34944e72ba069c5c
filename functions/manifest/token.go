package manifest

import "time"

// MaxTokenLifetime is the longest a bearer token accepted on User and Admin routes may live
// (exp - iat): the functions and the local gateway refuse longer ones, and the user pool
// issues its access tokens for exactly this long (Cognito's default, one hour). A token
// leaked from a browser is then good for an hour at most, whatever its issuer was told.
const MaxTokenLifetime = time.Hour
