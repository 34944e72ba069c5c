import type { SerializedError } from '@reduxjs/toolkit'
import type { FetchBaseQueryError } from '@reduxjs/toolkit/query'

/** ApiErrorBody is the contract's error body: {"error": {"code", "message"}}. */
export interface ApiErrorBody {
  error: { code: string; message: string }
}

/** isApiErrorBody tells the contract's error body from anything else a server may send. */
export function isApiErrorBody(v: unknown): v is ApiErrorBody {
  if (typeof v !== 'object' || v === null) return false
  const e = (v as { error?: unknown }).error
  return typeof e === 'object' && e !== null &&
    typeof (e as { code?: unknown }).code === 'string' && typeof (e as { message?: unknown }).message === 'string'
}

/** errorCode is the contract's error code of a failed request, or undefined. */
export function errorCode(err: unknown): string | undefined {
  const data = (err as FetchBaseQueryError | undefined)?.data
  return isApiErrorBody(data) ? data.error.code : undefined
}

const byStatus: Record<number, string> = {
  401: 'Your session has ended. Please sign in again.',
  403: 'You are not allowed to do that.',
  404: 'Not found.',
  413: 'That is too large.',
  429: 'Too many requests. Please wait a moment and try again.',
  503: 'The shop is busy. Please try again in a moment.',
}

/**
 * errorMessage turns a failed request into a sentence for the shopper: the contract's error
 * message when the API sent one, otherwise a plain description of what went wrong.
 */
export function errorMessage(err: FetchBaseQueryError | SerializedError | undefined | unknown): string {
  if (!err) return ''
  const e = err as Partial<FetchBaseQueryError> & Partial<SerializedError>
  if (isApiErrorBody(e.data)) {
    const m = e.data.error.message
    return m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.')
  }
  switch (e.status) {
    case 'FETCH_ERROR':
      return 'Could not reach the shop. Check your connection and try again.'
    case 'TIMEOUT_ERROR':
      return 'The shop took too long to answer. Please try again.'
    case 'PARSING_ERROR':
      return 'The shop sent an answer this page does not understand.'
  }
  if (typeof e.status === 'number') return byStatus[e.status] ?? `Something went wrong (HTTP ${e.status}).`
  return e.message ?? 'Something went wrong.'
}
