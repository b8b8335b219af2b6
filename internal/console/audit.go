package console

// auditPages mounts the audit pages (not built yet).
func (h *Handler) auditPages(rt *router) {}
