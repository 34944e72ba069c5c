package catalogadmin

import (
	"encoding/base64"
	"strings"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/catalog"
)

// productBody is the JSON of POST /products and PUT /products/{productId}. Pointers tell a
// missing field from a zero one (a price of 0 is valid, a missing price is not).
type productBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Category    *string `json:"category"`
	Price       *int64  `json:"price"`
	Currency    *string `json:"currency"`
	Stock       *int64  `json:"stock"`
	StockShards *int64  `json:"stockShards"`
	// MaxPerCustomer: absent and null both mean no limit.
	MaxPerCustomer *int64 `json:"maxPerCustomer"`
}

// decodeDraft reads and validates a product body. A missing description is empty, in PUT
// too: PUT replaces the fields, it does not merge them. stockShards is optional (absent:
// unchanged); stock may be absent only beside it, and then the units are kept (KeepStock).
func decodeDraft(req api.Request) (catalog.Draft, error) {
	var b productBody
	if err := api.DecodeJSON(req, api.MaxBody, &b); err != nil {
		return catalog.Draft{}, err
	}
	var missing api.Problems
	for _, f := range []struct {
		name    string
		present bool
	}{
		{"name", b.Name != nil}, {"category", b.Category != nil}, {"price", b.Price != nil},
		{"currency", b.Currency != nil}, {"stock", b.Stock != nil || b.StockShards != nil},
	} {
		if !f.present {
			missing.Addf("%s is required", f.name)
		}
	}
	if err := missing.Err(); err != nil {
		return catalog.Draft{}, err
	}
	d := catalog.Draft{Name: *b.Name, Category: *b.Category, Price: *b.Price, Currency: *b.Currency}
	if b.Description != nil {
		d.Description = *b.Description
	}
	if b.Stock != nil {
		d.Stock = *b.Stock
	} else {
		d.KeepStock = true
	}
	if b.StockShards != nil {
		if *b.StockShards < 1 || *b.StockShards > catalog.MaxStockShards {
			return catalog.Draft{}, api.Invalid("stockShards must be an integer from 1 to %d", catalog.MaxStockShards)
		}
		d.StockShards = int(*b.StockShards)
	}
	d.MaxPerCustomer = b.MaxPerCustomer
	if err := d.Problems().Err(); err != nil {
		return catalog.Draft{}, err
	}
	return d, nil
}

// imageBody is the JSON of POST /products/{productId}/image, the article's upload.
type imageBody struct {
	Image       *string `json:"image"`
	ContentType *string `json:"contentType"`
}

// maxImageBody is the largest JSON body of the image route: a MaxImage image in base64,
// line-wrapped as base64 tools write it (a JSON-escaped CRLF, 4 characters, every 64 or more
// characters), plus room for the rest of the object. It only bounds what is read and
// allocated: the limit that counts is MaxImage on the decoded bytes (decodeBase64).
var maxImageBody = base64.StdEncoding.EncodedLen(MaxImage)*(64+len(`\r\n`))/64 + 4<<10

// decodeImage reads an image body: the declared type must be one the shop serves, the image
// valid base64 of at most MaxImage bytes whose content is of the declared type.
func decodeImage(req api.Request) (Image, error) {
	var b imageBody
	if err := api.DecodeJSON(req, maxImageBody, &b); err != nil {
		return Image{}, err
	}
	var missing api.Problems
	if b.Image == nil {
		missing.Add("image is required (base64)")
	}
	if b.ContentType == nil {
		missing.Add("contentType is required")
	}
	if err := missing.Err(); err != nil {
		return Image{}, err
	}
	ext, ok := imageTypes[*b.ContentType]
	if !ok {
		return Image{}, errImageType
	}
	data, err := decodeBase64(*b.Image)
	if err != nil {
		return Image{}, err
	}
	if err := checkImage(data, *b.ContentType); err != nil {
		return Image{}, err
	}
	return Image{Data: data, ContentType: *b.ContentType, ext: ext}, nil
}

// decodeBase64 decodes standard base64, padded or not (line breaks are ignored). The body
// limit (maxImageBody) bounds what it allocates.
func decodeBase64(s string) ([]byte, error) {
	if s == "" {
		return nil, api.Invalid("image must not be empty")
	}
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil && !strings.Contains(s, "=") {
		data, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, api.Invalid("image must be standard base64")
	}
	if len(data) > MaxImage {
		return nil, errImageTooLarge
	}
	return data, nil
}

// uploadURLBody is the JSON of POST /products/{productId}/image-upload-url.
type uploadURLBody struct {
	ContentType *string `json:"contentType"`
}

// decodeUploadURL reads an upload-url body and returns the declared content type.
func decodeUploadURL(req api.Request) (contentType, ext string, err error) {
	var b uploadURLBody
	if err := api.DecodeJSON(req, api.MaxBody, &b); err != nil {
		return "", "", err
	}
	if b.ContentType == nil {
		return "", "", api.Invalid("contentType is required")
	}
	ext, ok := imageTypes[*b.ContentType]
	if !ok {
		return "", "", errImageType
	}
	return *b.ContentType, ext, nil
}
