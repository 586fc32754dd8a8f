"""GraphQL types, inputs, enums and scalars, and the Schema's configuration (``build``).

Types only: a field that needs data calls a service. The root operations and the
Schema object are in ``marketsync.resolvers.root``.
"""
