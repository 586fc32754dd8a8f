"""Thin resolvers: parse input, check the caller, call a service, shape the payload."""
