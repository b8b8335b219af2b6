package console

// apiPages mounts the apis pages (not built yet).
func (h *Handler) apiPages(rt *router) {}
