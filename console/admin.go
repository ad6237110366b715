package console

import "net/http"

// adminRoutes registers the admin's pages (see /work/CONSOLE.md's URL map).
func (c *Console) adminRoutes(mux *http.ServeMux) {}
