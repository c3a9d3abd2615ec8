"""One router per area; ``reference.api.main`` mounts them under /api/v1."""
