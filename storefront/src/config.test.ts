import { describe, expect, it } from 'vitest'
import { parseConfig } from './config'

const cognito = {
  apiBaseUrl: 'https://abc.execute-api.eu-central-1.amazonaws.com/',
  imagesBaseUrl: 'https://d1.cloudfront.net',
  auth: {
    mode: 'cognito',
    cognito: {
      domain: 'https://shop.auth.eu-central-1.amazoncognito.com',
      clientId: 'c1',
      redirectUri: 'https://d2.cloudfront.net/auth/callback',
      signOutUri: 'https://d2.cloudfront.net/',
      scopes: ['openid', 'email', 'profile'],
    },
  },
}

describe('config.json', () => {
  it('reads the local stage', () => {
    expect(parseConfig({ apiBaseUrl: 'http://127.0.0.1:8080', imagesBaseUrl: 'http://127.0.0.1:8080/_local/images', auth: { mode: 'local' } })).toEqual({
      apiBaseUrl: 'http://127.0.0.1:8080',
      imagesBaseUrl: 'http://127.0.0.1:8080/_local/images',
      auth: { mode: 'local' },
    })
  })

  it('reads a cloud stage, keeping OAuth URLs exactly', () => {
    const c = parseConfig(cognito)
    expect(c.apiBaseUrl).toBe('https://abc.execute-api.eu-central-1.amazonaws.com')
    expect(c.auth).toEqual(cognito.auth)
  })

  it.each([
    ['not an object', [], /must be an object/],
    ['an unknown key', { ...cognito, debug: true }, /debug is not a known setting/],
    ['a relative API URL', { ...cognito, apiBaseUrl: '/api' }, /apiBaseUrl must be an absolute URL/],
    ['a javascript: URL', { ...cognito, imagesBaseUrl: 'javascript:alert(1)' }, /must be http/],
    ['an unknown mode', { ...cognito, auth: { mode: 'saml' } }, /auth.mode/],
    ['local with cognito settings', { ...cognito, auth: { mode: 'local', cognito: cognito.auth.cognito } }, /auth.cognito is not a known setting/],
    ['cognito without a client', { ...cognito, auth: { mode: 'cognito', cognito: { ...cognito.auth.cognito, clientId: '' } } }, /clientId/],
    ['cognito without scopes', { ...cognito, auth: { mode: 'cognito', cognito: { ...cognito.auth.cognito, scopes: [] } } }, /scopes/],
    ['an unknown cognito key', { ...cognito, auth: { mode: 'cognito', cognito: { ...cognito.auth.cognito, secret: 'x' } } }, /secret is not a known setting/],
  ])('refuses %s', (_name, raw, want) => {
    expect(() => parseConfig(raw)).toThrow(want)
  })
})
