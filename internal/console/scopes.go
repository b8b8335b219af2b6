package console

// scopePages mounts the scopes pages (not built yet).
func (h *Handler) scopePages(rt *router) {}
