package marketplace

import "context"

// getData sends a request whose answer is {"data": …} and decodes the data member into out.
func (c *Client) getData(ctx context.Context, req *request, out interface{}) (*Response, error) {
	envelope := struct {
		Data interface{} `json:"data"`
	}{Data: out}
	return c.do(ctx, req, &envelope)
}

// finish sets the response metadata of a result and returns it, or nil and the error.
func finish[T any](out *T, slot **Response, resp *Response, err error) (*T, error) {
	*slot = resp
	if err != nil {
		return nil, err
	}
	return out, nil
}
