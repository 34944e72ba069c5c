import openapiTS, { COMMENT_HEADER, astToString } from 'openapi-typescript'
import { expect, test } from 'vitest'
import document from '../../functions/manifest/openapi.json?raw'
import committed from './openapi.gen.ts?raw'

// The API types are generated from the OpenAPI document the API is validated against; a
// change to the document without `npm run openapi-types` fails here.
test('src/openapi.gen.ts is generated from functions/manifest/openapi.json as it is', async () => {
  const generated = COMMENT_HEADER + astToString(await openapiTS(document))
  expect(committed, 'src/openapi.gen.ts is stale: run npm run openapi-types').toBe(generated)
})
