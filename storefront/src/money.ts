// Prices travel as integers in minor units with an ISO 4217 currency (API.md): 1999 USD is
// 19.99 USD, 500 JPY is 500 JPY. Intl knows each currency's number of minor digits.

const formatters = new Map<string, Intl.NumberFormat>()

function formatter(currency: string, locale?: string): Intl.NumberFormat {
  const key = `${locale ?? ''}|${currency}`
  let f = formatters.get(key)
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency })
    formatters.set(key, f)
  }
  return f
}

/** minorDigits is the number of minor-unit digits of currency: 2 for USD, 0 for JPY. */
export function minorDigits(currency: string): number {
  return formatter(currency, 'en').resolvedOptions().maximumFractionDigits ?? 2
}

/** formatPrice formats an amount in minor units: formatPrice(1999, "USD", "en-US") is "$19.99". */
export function formatPrice(minor: number, currency: string, locale?: string): string {
  return formatter(currency, locale).format(minor / 10 ** minorDigits(currency))
}

/**
 * parsePrice reads a price typed in major units ("19.99") as minor units (1999), or null when
 * it is not a non-negative amount with at most the currency's minor digits.
 */
export function parsePrice(text: string, currency: string): number | null {
  const digits = minorDigits(currency)
  const m = /^(\d{1,15})(?:[.,](\d*))?$/.exec(text.trim())
  if (!m) return null
  const frac = m[2] ?? ''
  if (frac.length > digits) return null
  const minor = Number(m[1]) * 10 ** digits + Number(frac.padEnd(digits, '0') || '0')
  return Number.isSafeInteger(minor) ? minor : null
}

/** priceInput is the inverse of parsePrice, for editing a stored price: 1999 -> "19.99". */
export function priceInput(minor: number, currency: string): string {
  const digits = minorDigits(currency)
  if (digits === 0) return String(minor)
  const s = String(minor).padStart(digits + 1, '0')
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`
}
