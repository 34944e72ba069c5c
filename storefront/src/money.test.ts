import { describe, expect, it } from 'vitest'
import { formatPrice, minorDigits, parsePrice, priceInput } from './money'

describe('prices in minor units', () => {
  it.each([
    [1999, 'USD', 'en-US', '$19.99'],
    [0, 'USD', 'en-US', '$0.00'],
    [5, 'EUR', 'de-DE', '0,05 €'],
    [123456, 'EUR', 'en-IE', '€1,234.56'],
    [500, 'JPY', 'ja-JP', '￥500'],
    [1234, 'BHD', 'en-US', 'BHD 1.234'],
  ])('formatPrice(%d, %s, %s)', (minor, currency, locale, want) => {
    expect(formatPrice(minor, currency, locale).replace(/\u00a0/g, ' ')).toBe(want)
  })

  it('knows each currency’s minor digits', () => {
    expect([minorDigits('USD'), minorDigits('JPY'), minorDigits('KWD')]).toEqual([2, 0, 3])
  })

  it.each([
    ['19.99', 'USD', 1999],
    ['19,9', 'EUR', 1990],
    ['20', 'USD', 2000],
    ['20.', 'USD', 2000],
    ['500', 'JPY', 500],
    ['1.5', 'JPY', null],
    ['19.999', 'USD', null],
    ['-1', 'USD', null],
    ['abc', 'USD', null],
    ['', 'USD', null],
    ['99999999999999999', 'USD', null],
  ])('parsePrice(%j, %s)', (text, currency, want) => {
    expect(parsePrice(text, currency)).toBe(want)
  })

  it('priceInput is parsePrice backwards', () => {
    for (const [minor, currency] of [[1999, 'USD'], [5, 'USD'], [0, 'EUR'], [500, 'JPY'], [1234, 'KWD']] as const) {
      expect(parsePrice(priceInput(minor, currency), currency)).toBe(minor)
    }
  })
})
