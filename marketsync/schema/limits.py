"""Document limits in one validation rule whose cost is linear in the document.

Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` walk a fragment again at
every spread, so ``fragment F0 { ...F1 ...F1 } … fragment F29 { ...F30 ...F30 }`` costs
2^30 steps (a keyless request froze the process). Here each fragment is measured once
and memoised; a spread reuses its fragment's figures, multiplied where counts add up.

Checked in this order, each with its own ``extensions.code`` (tokens are limited earlier,
by the parser, see ``MaxTokensLimiter``):
- depth: levels of fields below the root field, introspection fields not counted
  (``QUERY_TOO_DEEP``);
- aliases: aliased fields, each spread counted as often as it is expanded
  (``TOO_MANY_ALIASES``);
- selections: fields after expanding every fragment (``QUERY_TOO_COMPLEX``).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_SELECTIONS = 5000


@dataclass(frozen=True)
class Cost:
    depth: int = 0
    aliases: int = 0
    selections: int = 0


class _Measure:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, Cost] = {}
        self.in_progress: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> Cost:
        depth = aliases = selections = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                cost = self.field(selection)
            elif isinstance(selection, InlineFragmentNode):
                cost = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                cost = self.fragment(selection.name.value)
            else:  # pragma: no cover - the grammar has no other selection
                continue
            depth = max(depth, cost.depth)
            aliases += cost.aliases
            selections += cost.selections
        return Cost(depth, aliases, selections)

    def field(self, node: FieldNode) -> Cost:
        inner = self.selection_set(node.selection_set)
        introspection = node.name.value.startswith("__")
        depth = 0 if introspection or node.selection_set is None else 1 + inner.depth
        return Cost(depth, inner.aliases + (node.alias is not None), inner.selections + 1)

    def fragment(self, name: str) -> Cost:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:
            return Cost()  # unknown or cyclic: the spec rules report those
        self.in_progress.add(name)
        cost = self.selection_set(definition.selection_set)
        self.in_progress.discard(name)
        self.memo[name] = cost
        return cost


def _limit_error(message: str, code: str, node: OperationDefinitionNode) -> GraphQLError:
    return GraphQLError(message, [node], extensions={"code": code})


class DocumentLimits(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        definitions = context.document.definitions
        measure = _Measure(
            {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
        )
        for operation in definitions:
            if not isinstance(operation, OperationDefinitionNode):
                continue
            name = operation.name.value if operation.name else "anonymous"
            try:
                cost = measure.selection_set(operation.selection_set)
            except RecursionError:
                context.report_error(
                    _limit_error(f"'{name}' is nested too deeply", "QUERY_TOO_DEEP", operation)
                )
                continue
            # A root field's height counts the levels below it, as Strawberry's limiter did.
            if cost.depth > MAX_DEPTH:
                message = f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}"
                context.report_error(_limit_error(message, "QUERY_TOO_DEEP", operation))
            elif cost.aliases > MAX_ALIASES:
                message = f"{cost.aliases} aliases found. Allowed: {MAX_ALIASES}"
                context.report_error(_limit_error(message, "TOO_MANY_ALIASES", operation))
            elif cost.selections > MAX_SELECTIONS:
                message = (
                    f"'{name}' expands to {cost.selections} field selections. "
                    f"Allowed: {MAX_SELECTIONS}"
                )
                context.report_error(_limit_error(message, "QUERY_TOO_COMPLEX", operation))
