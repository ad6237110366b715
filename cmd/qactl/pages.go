package main

import "fmt"

// allPages follows a list call's next_page_token (AIP-158, every list
// call of the API) to the last page. page fetches the page at token and
// returns its next_page_token, "" on the last page.
func allPages(page func(token string) (string, error)) error {
	token := ""
	for {
		next, err := page(token)
		if err != nil || next == "" {
			return err
		}
		if next == token {
			return fmt.Errorf("the server's next page token %q does not advance", next)
		}
		token = next
	}
}
