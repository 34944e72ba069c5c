import { useEffect, useRef, useState } from 'react'
import { Link, useNavigate } from 'react-router-dom'
import { sessionFromToken, signedIn } from '../auth/authSlice'
import { completeSignIn } from '../auth/pkce'
import { Loading, Page } from '../components'
import { useAppDispatch, useConfig } from '../hooks'
import { safeReturn } from './SignIn'

/** AuthCallback is where Cognito's hosted UI sends the browser back with the code. */
export default function AuthCallback() {
  const config = useConfig()
  const dispatch = useAppDispatch()
  const navigate = useNavigate()
  const [error, setError] = useState('')
  const started = useRef(false)
  useEffect(() => {
    // The code is good for one exchange: StrictMode's second effect run must not spend it again.
    if (started.current || config.auth.mode !== 'cognito') return
    started.current = true
    completeSignIn(config.auth.cognito, new URL(window.location.href)).then(
      (t) => {
        dispatch(signedIn({ ...sessionFromToken(t.accessToken), expiresAt: t.expiresAt }))
        navigate(safeReturn(t.returnTo), { replace: true })
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    )
  }, [config, dispatch, navigate])
  return (
    <Page title="Signing in">
      {error ? (
        <>
          <p role="alert" className="error">
            {error}
          </p>
          <p>
            <Link to="/signin">Try again</Link>
          </p>
        </>
      ) : (
        <Loading what="Signing you in" />
      )}
    </Page>
  )
}
