package console

// groupPages mounts the groups pages (not built yet).
func (h *Handler) groupPages(rt *router) {}
