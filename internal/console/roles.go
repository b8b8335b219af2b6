package console

// rolePages mounts the roles pages (not built yet).
func (h *Handler) rolePages(rt *router) {}
