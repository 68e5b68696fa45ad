"""Warnings about valid rules that can never match or are expensive to evaluate."""

from __future__ import annotations

from dataclasses import dataclass

from newsalert.rules.indexing.anchors import COMMON_STEMS, AnchorExtractor
from newsalert.rules.language.keywords import MIN_PREFIX
from newsalert.rules.language.limits import shown
from newsalert.rules.language.model import And, Near, Node, Not, Or, Rule, Term, iter_terms

#: A rule whose best anchor costs more than this is a candidate for most articles.
EXPENSIVE_COST = 30.0


@dataclass(frozen=True, slots=True)
class RuleWarning:
    """A rule that is valid but probably not what its author wants."""

    rule_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.reason}"


def _never(node: Node) -> str | None:
    """Why ``node`` can never match, if it provably cannot."""
    if isinstance(node, Term):
        stems = {w.value for w in node.words if not w.prefix}
        plain = not any(w.prefix for w in node.words)
        if node.mode == "window" and plain and len(stems) > node.window:
            return f"{shown(node.text)} has {len(stems)} different words but window {node.window}"
        return None
    if isinstance(node, And):
        for child in node.children:
            reason = _never(child)
            if reason:
                return reason
        positive = {c for c in node.children if isinstance(c, Term)}
        for child in node.children:
            if isinstance(child, Not):
                inner = child.child
                excluded = inner.children if isinstance(inner, Or) else (inner,)
                for term in excluded:
                    if term in positive and isinstance(term, Term):
                        return f"{shown(term.text)} is both required and excluded"
        return None
    if isinstance(node, Or):
        reasons = [_never(child) for child in node.children]
        return reasons[0] if all(reasons) else None
    if isinstance(node, Near):
        for operand, following, distance in zip(
            node.operands, node.operands[1:], node.distances, strict=False
        ):
            if distance == 0 and not _may_share_token(operand, following):
                return "NEAR/0 between different words can never match"
        return None
    return None


def _may_share_token(left: tuple[Term, ...], right: tuple[Term, ...]) -> bool:
    for a in left:
        for b in right:
            first_a, first_b = a.words[0], b.words[0]
            if first_a.prefix or first_b.prefix or first_a.value == first_b.value:
                return True
    return False


def lint(rules: tuple[Rule, ...]) -> list[RuleWarning]:
    """Warnings for ``rules``: never-matching rules and expensive ones."""
    extractor = AnchorExtractor()
    warnings: list[RuleWarning] = []
    for rule in rules:
        reason = _never(rule.expr)
        if reason:
            warnings.append(RuleWarning(rule.id, f"can never match: {reason}"))
        clauses = extractor.clauses(rule.expr)
        if not clauses:
            warnings.append(
                RuleWarning(
                    rule.id, "expensive: no required word to index (verified on every article)"
                )
            )
        elif clauses[0].cost > EXPENSIVE_COST:
            keys = sorted(clauses[0].stems) + [f"{p}*" for p in sorted(clauses[0].prefixes)]
            warnings.append(
                RuleWarning(
                    rule.id,
                    f"expensive: it can only be pre-filtered on frequent words/prefixes {keys}",
                )
            )
        for term in iter_terms(rule.expr, negated=False):
            short = [w.value for w in term.words if w.prefix and len(w.value) <= MIN_PREFIX]
            common = [w.value for w in term.words if not w.prefix and w.value in COMMON_STEMS]
            if short and len(term.words) == 1:
                warnings.append(
                    RuleWarning(rule.id, f"expensive: {shown(term.text)} matches very many words")
                )
            elif common and len(common) == len(term.words) and term.mode == "word":
                warnings.append(
                    RuleWarning(
                        rule.id,
                        f"{shown(term.text)} (stem {shown(common[0])})"
                        " is one of the commonest words",
                    )
                )
    return warnings
