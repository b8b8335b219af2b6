package console

// usagePages mounts the usage pages (not built yet).
func (h *Handler) usagePages(rt *router) {}
