"""The domain. No strawberry, dramatiq or starlette here."""
