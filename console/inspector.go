package console

import "net/http"

// inspectorRoutes registers the inspector's pages (see /work/CONSOLE.md's URL map).
func (c *Console) inspectorRoutes(mux *http.ServeMux) {}
