package console

// applicationPages mounts the applications pages (not built yet).
func (h *Handler) applicationPages(rt *router) {}
