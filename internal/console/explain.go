package console

// explainPages mounts the explain pages (not built yet).
func (h *Handler) explainPages(rt *router) {}
