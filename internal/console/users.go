package console

// userPages mounts the users pages (not built yet).
func (h *Handler) userPages(rt *router) {}
