package console

import "net/http"

// supervisorRoutes registers the supervisor's pages (see /work/CONSOLE.md's URL map).
func (c *Console) supervisorRoutes(mux *http.ServeMux) {}
