package main

import (
	"fmt"

	"github.com/spf13/pflag"
)

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

// listPages runs a list call from token: one page, or with all every page
// to the last. page fetches the page at a token and returns its items and
// next_page_token. listPages returns the items and the token of the first
// page not fetched ("" after the last page), for a "more: --page-token"
// hint.
func listPages[T any](token string, all bool, page func(token string) ([]T, string, error)) ([]T, string, error) {
	var items []T
	var next string
	err := allPages(func(t string) (string, error) {
		if t == "" {
			t = token
		}
		got, n, err := page(t)
		items, next = append(items, got...), n
		if !all {
			return "", err
		}
		return n, err
	})
	return items, next, err
}

// pageFlags adds a list command's --page-token, --limit (noun per page)
// and --all.
func pageFlags(f *pflag.FlagSet, token *string, size *int32, all *bool, noun string) {
	f.StringVar(token, "page-token", "", "continue from a previous page (printed when there are more)")
	f.Int32Var(size, "limit", 0, noun+" per page (server default 100, at most 1000)")
	f.BoolVar(all, "all", false, "follow the pages to the last")
}
